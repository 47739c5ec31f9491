// Runs page logic without the WeChat runtime: captures the object each page passes to Page() (and app.js to
// App()), and makes instances of it with a working setData, the way the framework would.
const path = require('path')

const ROOT = path.resolve(__dirname, '../..')
const definitions = new Map()

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

// setData keys may be paths: 'form.name', 'list[2].title'.
function setPath(target, keyPath, value) {
  const parts = keyPath.replace(/\[(\d+)\]/g, '.$1').split('.')
  let node = target
  parts.slice(0, -1).forEach((part) => {
    if (node[part] === null || typeof node[part] !== 'object') node[part] = {}
    node = node[part]
  })
  node[parts[parts.length - 1]] = value
}

function define(file, globalName) {
  if (!definitions.has(file)) {
    let captured = null
    global[globalName] = (definition) => {
      captured = definition
    }
    require(file)
    if (!captured) throw new Error(`${file} did not call ${globalName}()`)
    definitions.set(file, captured)
  }
  return definitions.get(file)
}

function instantiate(definition, extra) {
  const instance = {}
  Object.keys(definition).forEach((key) => {
    if (key !== 'data') instance[key] = typeof definition[key] === 'function' ? definition[key] : clone(definition[key])
  })
  instance.data = clone(definition.data || {})
  instance.setData = function setData(patch, done) {
    Object.keys(patch).forEach((key) => setPath(instance.data, key, clone(patch[key])))
    if (done) done()
  }
  return Object.assign(instance, extra)
}

/** Creates the App from app.js, runs onLaunch and makes getApp() return it. */
function launchApp() {
  const app = instantiate(define(path.join(ROOT, 'app.js'), 'App'), {})
  app.globalData = clone(define(path.join(ROOT, 'app.js'), 'App').globalData || {})
  global.getApp = () => app
  if (app.onLaunch) app.onLaunch({})
  return app
}

function parseUrl(url) {
  const [route, queryString] = url.replace(/^\//, '').split('?')
  const query = {}
  if (queryString) {
    queryString.split('&').forEach((pair) => {
      const [key, value = ''] = pair.split('=')
      query[decodeURIComponent(key)] = decodeURIComponent(value)
    })
  }
  return { route, query }
}

/**
 * Opens a page the way the framework would when navigating to `url` ('/pages/home/home?x=1'):
 * a new instance, then onLoad(query) and onShow(), both awaited when they return promises.
 */
async function openPage(url) {
  const { route, query } = parseUrl(url)
  const page = instantiate(define(path.join(ROOT, route + '.js'), 'Page'), { route, options: query })
  if (page.onLoad) await page.onLoad(query)
  if (page.onShow) await page.onShow()
  return page
}

/** An event as the framework delivers it to a handler bound in WXML. */
function event({ dataset = {}, value, detail } = {}) {
  return {
    type: 'tap',
    currentTarget: { dataset },
    target: { dataset },
    detail: detail !== undefined ? detail : { value }
  }
}

module.exports = { ROOT, launchApp, openPage, parseUrl, event }
