// The project as WeChat devtools will read it: app.json's pages and components exist, and every WXML/WXSS file
// compiles with WeChat's own compilers (miniprogram-compiler's wcc/wcsc).
const fs = require('fs')
const path = require('path')
const compiler = require('miniprogram-compiler')
const nav = require('../../utils/nav')

const ROOT = path.resolve(__dirname, '../..')
const appJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const read = (file) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'))

test.each(appJson.pages)('page %s has its .js, .json, .wxml and .wxss', (page) => {
  ;['js', 'json', 'wxml', 'wxss'].forEach((ext) => {
    expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true)
  })
})

test('every usingComponents entry points at a component', () => {
  const jsonFiles = appJson.pages.map((page) => `${page}.json`)
  jsonFiles.forEach((file) => {
    const using = read(file).usingComponents || {}
    Object.values(using).forEach((target) => {
      const base = target.startsWith('/') ? path.join(ROOT, target) : path.join(ROOT, path.dirname(file), target)
      expect(read(path.relative(ROOT, base + '.json')).component).toBe(true)
    })
  })
})

test('the tab bar is 首页 and 我的, and utils/nav knows the same tab pages', () => {
  const tabs = appJson.tabBar.list
  expect(tabs.map((tab) => tab.text)).toEqual(['首页', '我的'])
  tabs.forEach((tab) => expect(appJson.pages).toContain(tab.pagePath))
  expect(tabs.map((tab) => '/' + tab.pagePath)).toEqual(nav.TAB_PAGES)
  expect(appJson.pages[0]).toBe('pages/home/home')
})

test('location is declared for the check-in pages, with a Chinese reason', () => {
  expect(appJson.requiredPrivateInfos).toEqual(['getLocation', 'chooseLocation'])
  expect(appJson.permission['scope.userLocation'].desc).toMatch(/[\u4e00-\u9fa5]/)
  expect(appJson.window.navigationBarTitleText).toBe('党建云')
})

test('devtools files are valid JSON and name the sitemap', () => {
  expect(read('project.config.json').compileType).toBe('miniprogram')
  expect(read('sitemap.json').rules).toBeDefined()
  expect(appJson.sitemapLocation).toBe('sitemap.json')
})

test('all WXML compiles with wcc', () => {
  expect(() => compiler.wxmlToJs(ROOT)).not.toThrow()
})

test('all WXSS compiles with wcsc', () => {
  expect(() => compiler.wxssToJs(ROOT)).not.toThrow()
})
