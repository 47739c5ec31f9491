/**
 * @jest-environment jsdom
 */
// pages/duty/fences rendered against a scripted server: a village's fences listed and drawn from their GCJ-02
// display geometry; where the server says can_edit, a circle added by tapping the map (sent as GCJ-02 with its
// radius) or by picking a place, field errors shown, and a fence deactivated after a confirmation.
const config = require('../../config')
const session = require('../../utils/session')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/duty/fences')
const VENUE = { latitude: 26.5412, longitude: 106.7553 }

const circle = (id, active) => ({
  id,
  org_id: 14,
  name: id === 1 ? '三村村委会' : '旧村部',
  kind: 'circle',
  coord_sys: 'wgs84',
  center: { latitude: 26.5436, longitude: 106.7508, coord_sys: 'wgs84' },
  radius_m: 300,
  points: null,
  active,
  display: { coord_sys: 'gcj02', center: VENUE, points: null }
})
const polygon = {
  id: 3,
  org_id: 14,
  name: '产业基地',
  kind: 'polygon',
  coord_sys: 'gcj02',
  center: null,
  radius_m: null,
  points: [
    { latitude: 26.55, longitude: 106.76 },
    { latitude: 26.55, longitude: 106.77 },
    { latitude: 26.56, longitude: 106.77 }
  ],
  active: true,
  display: {
    coord_sys: 'gcj02',
    center: null,
    points: [
      { latitude: 26.55, longitude: 106.76 },
      { latitude: 26.55, longitude: 106.77 },
      { latitude: 26.56, longitude: 106.77 }
    ]
  }
}

let server

function install(canEdit) {
  server = { fences: [circle(1, true), circle(2, false), polygon], posts: [], deletes: [], refuse: null }
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (options.method === 'GET' && url === '/api/orgs/14') return { statusCode: 200, data: { id: 14, name: '三村党支部' } }
      if (options.method === 'GET' && url === '/api/orgs/14/geofences') {
        return { statusCode: 200, data: { items: server.fences, can_edit: canEdit } }
      }
      if (options.method === 'POST' && url === '/api/orgs/14/geofences') {
        server.posts.push(options.data)
        if (server.refuse) return server.refuse
        const fence = Object.assign(circle(10 + server.posts.length, true), {
          name: options.data.name,
          coord_sys: 'gcj02',
          radius_m: options.data.radius_m,
          display: { coord_sys: 'gcj02', center: options.data.center, points: null }
        })
        server.fences.push(fence)
        return { statusCode: 201, data: fence }
      }
      const m = /^\/api\/orgs\/14\/geofences\/(\d+)$/.exec(url)
      if (options.method === 'DELETE' && m) {
        server.deletes.push(Number(m[1]))
        const fence = server.fences.find((f) => f.id === Number(m[1]))
        fence.active = false
        return { statusCode: 200, data: fence }
      }
      throw new Error(`unexpected ${options.method} ${url}`)
    }
  })
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 5, name: '甲二镇组织委员' } })
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

async function open(canEdit) {
  install(canEdit)
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad({ org_id: '14' })
  await settle()
  return page
}

test('fences listed, the active ones drawn from their display geometry; read-only without can_edit', async () => {
  const page = await open(false)
  expect(wx.calls.titles).toEqual(['三村党支部签到范围'])
  expect(texts(page, '.fence-name')).toEqual(['三村村委会', '旧村部（已停用）', '产业基地'])
  const rows = page.querySelectorAll('.fence').map(text)
  expect(rows[0]).toContain('圆形 · 半径 300 米 · GPS坐标')
  expect(rows[2]).toContain('多边形 · 3 个顶点 · 地图坐标')
  const map = page.instance.data.map
  expect(map.circles.map((c) => [c.latitude, c.longitude, c.radius])).toEqual([[VENUE.latitude, VENUE.longitude, 300]])
  expect(map.polygons.map((p) => p.points.length)).toEqual([3])
  expect([map.latitude, map.longitude]).toEqual([VENUE.latitude, VENUE.longitude])
  expect(page.querySelector('.add')).toBeUndefined()
  expect(page.querySelectorAll('.deactivate')).toHaveLength(0)
  page.instance.onMapTap({ detail: { latitude: 26.55, longitude: 106.75 } })
  expect(page.instance.data.picked).toBeNull()
})

test('a tap on the map picks the centre; saving sends a GCJ-02 circle with its radius', async () => {
  const page = await open(true)
  expect(texts(page, '.deactivate')).toEqual(['停用', '停用'])
  page.querySelector('.save').dispatchEvent('tap')
  await settle()
  expect(text(page.querySelector('.add .error-text'))).toBe('请在地图上点选或搜索圆心位置')
  expect(server.posts).toEqual([])

  page.instance.onMapTap({ detail: { latitude: 26.5501, longitude: 106.7602 } })
  page.instance.onInput({ currentTarget: { dataset: { field: 'radius' } }, detail: { value: '150' } })
  page.instance.onInput({ currentTarget: { dataset: { field: 'name' } }, detail: { value: '产业园' } })
  expect(page.instance.data.map.circles.pop()).toMatchObject({ latitude: 26.5501, longitude: 106.7602, radius: 150 })
  await page.instance.onSave()
  expect(server.posts).toEqual([
    {
      name: '产业园',
      kind: 'circle',
      center: { latitude: 26.5501, longitude: 106.7602, coord_sys: 'gcj02' },
      radius_m: 150
    }
  ])
  expect(wx.__lastToast()).toBe('已添加签到范围')
  expect(texts(page, '.fence-name')).toContain('产业园')
  expect(page.instance.data.picked).toBeNull()
})

test('a place picked with wx.chooseLocation; the server\'s field errors go under the fields', async () => {
  const page = await open(true)
  wx.__setChosenLocation({ name: '三村村民委员会', address: '某路1号', latitude: 26.5413, longitude: 106.7554 })
  page.instance.onChooseLocation()
  await settle()
  expect(page.instance.data.picked).toEqual({ latitude: 26.5413, longitude: 106.7554 })
  expect(page.instance.data.name).toBe('三村村民委员会')
  server.refuse = {
    statusCode: 422,
    data: { error: { code: 'invalid', message: 'radius_m：半径应在0到5000米之间', fields: { radius_m: ['半径应在0到5000米之间'] } } }
  }
  await page.instance.onSave()
  expect(page.instance.data.errors).toEqual({ radius: '半径应在0到5000米之间' })
  page.instance.onInput({ currentTarget: { dataset: { field: 'radius' } }, detail: { value: '9000' } })
  await page.instance.onSave()
  expect(page.instance.data.errors.radius).toBe('半径应为1到5000米')
  expect(server.posts).toHaveLength(1)
})

test('停用 after a confirmation; cancelled, nothing happens', async () => {
  const page = await open(true)
  wx.__answerModals(false)
  await page.instance.onDeactivate({ currentTarget: { dataset: { id: 1, name: '三村村委会' } } })
  expect(server.deletes).toEqual([])
  wx.__answerModals(true)
  await page.instance.onDeactivate({ currentTarget: { dataset: { id: 1, name: '三村村委会' } } })
  expect(server.deletes).toEqual([1])
  expect(wx.calls.modals[1].content).toContain('停用「三村村委会」')
  expect(texts(page, '.fence-name')[0]).toBe('三村村委会（已停用）')
  expect(page.instance.data.map.circles).toEqual([])
})
