/**
 * @jest-environment jsdom
 */
// pages/duty/checkin rendered by miniprogram-simulate against a scripted server: the village's fences and the
// phone's accuracy circle on the map, today's shift, the server's verdict in Chinese, a remark asked for when the
// position looks outside, and a check-in kept on the phone and retried with the same client_id.
const config = require('../../config')
const session = require('../../utils/session')
const queue = require('../../utils/duty-queue')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/duty/checkin')
const VENUE = { latitude: 26.5412, longitude: 106.7553 }
const FAR = { latitude: 26.5502, longitude: 106.7553, accuracy: 10 } // ~1 km north: 700 m beyond the fence

const fence = (id, orgId) => ({
  id,
  org_id: orgId,
  name: '村委会',
  kind: 'circle',
  coord_sys: 'wgs84',
  center: { latitude: 26.5436, longitude: 106.7508, coord_sys: 'wgs84' },
  radius_m: 300,
  points: null,
  active: true,
  display: { coord_sys: 'gcj02', center: VENUE, points: null }
})

function duty(orgId, name, extra) {
  return Object.assign(
    {
      date: '2026-07-08',
      assignment: {
        id: orgId,
        member: { id: 21, name: '驻村干部' },
        org: { id: orgId, name },
        role: 'resident_cadre',
        role_label: '驻村干部',
        starts_on: '2026-06-01',
        ends_on: null
      },
      shift: { weekday: 2, starts_at: '08:30', ends_at: '17:30' },
      exception: null,
      fences: [fence(orgId * 10, orgId)],
      checkins: []
    },
    extra
  )
}

function judged(body, extra) {
  return Object.assign(
    {
      id: 100 + server.rows.size,
      client_id: body.client_id,
      org_id: body.org_id,
      member: { id: 21, name: '驻村干部' },
      kind: body.kind,
      read_at: body.read_at,
      duty_date: '2026-07-08',
      result: 'inside',
      result_label: '在范围内',
      result_reason: '在三村村委会范围内',
      distance_m: 0,
      timing: 'on_time',
      timing_label: '正常',
      timing_reason: null,
      flags: [],
      flag_labels: {},
      flag_reasons: {},
      remark: body.remark || null
    },
    extra
  )
}

let server

function install({ items, verdict, network } = {}) {
  server = {
    items: items || [duty(14, '三村党支部')],
    verdict: verdict || {},
    network: network || { up: true },
    rows: new Map(),
    posts: [],
    uploads: []
  }
  global.wx = createWx({
    uploadFile: (options) => {
      server.uploads.push({ url: options.url.replace(BASE, ''), formData: options.formData, file: options.file })
      const body = Object.assign({}, options.formData, { org_id: Number(options.formData.org_id) })
      return { statusCode: 201, data: JSON.stringify(judged(body, { photo_id: 77 })) }
    },
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (options.method === 'GET' && url === '/api/duty/today') return { statusCode: 200, data: { items: server.items } }
      if (options.method === 'GET' && /^\/api\/orgs\/\d+\/geofences$/.test(url)) {
        return { statusCode: 200, data: { items: [], can_edit: url.includes('/15/') } }
      }
      if (options.method === 'POST' && url === '/api/duty/checkins') {
        server.posts.push(options.data)
        if (!server.network.up) throw { errMsg: 'request:fail timeout' }
        const known = server.rows.get(options.data.client_id)
        if (known) return { statusCode: 200, data: known }
        const row = judged(options.data, server.verdict)
        server.rows.set(row.client_id, row)
        server.items[0].checkins.unshift(row)
        return { statusCode: 201, data: row }
      }
      throw new Error(`unexpected ${options.method} ${url}`)
    }
  })
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 21, name: '驻村干部' } })
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))
let opened = []

async function open(options, setup) {
  install(setup)
  wx.__setLocation({ latitude: VENUE.latitude + 0.0005, longitude: VENUE.longitude, accuracy: 15 })
  const page = renderPage(PAGE_ID)
  opened.push(page)
  await page.instance.onLoad(options || {})
  await page.instance.onShow()
  await settle()
  return page
}

afterEach(() => {
  opened.forEach((page) => page.instance.onUnload())
  opened = []
})

test('the village, its shift, the fence and my accuracy circle on the map, and a hint from my position', async () => {
  const page = await open()
  expect(text(page.querySelector('.village'))).toBe('三村党支部')
  expect(text(page.querySelector('.shift'))).toBe('周三 08:30–17:30')
  const map = page.instance.data.map
  expect(map.circles.map((c) => [c.latitude, c.longitude, c.radius])).toEqual([
    [VENUE.latitude, VENUE.longitude, 300], // the fence's GCJ-02 display centre, not its stored WGS-84 one
    [VENUE.latitude + 0.0005, VENUE.longitude, 15]
  ])
  expect([map.latitude, map.longitude]).toEqual([VENUE.latitude + 0.0005, VENUE.longitude])
  expect(wx.calls.locations[0]).toEqual({ type: 'gcj02', isHighAccuracy: true })
  expect(text(page.querySelector('.hint'))).toBe('当前位置在签到范围内（以服务器判定为准）')
  expect(text(page.querySelector('.position-text'))).toBe('定位精度约 15 米')
  expect(page.querySelector('.open-fences')).toBeUndefined()
  expect(texts(page, '.check')).toEqual(['签到', '签退'])
})

test('签到 inside sends a GCJ-02 reading with its accuracy and read_at, and shows the verdict', async () => {
  const page = await open()
  page.querySelector('.check-in').dispatchEvent('tap')
  await settle()
  await settle()
  expect(server.posts).toHaveLength(1)
  const body = server.posts[0]
  expect(body).toMatchObject({ org_id: 14, kind: 'checkin', coord_sys: 'gcj02', accuracy: 15 })
  expect(body.latitude).toBeCloseTo(VENUE.latitude + 0.0005, 9)
  expect(body.read_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/)
  expect(body.client_id).toMatch(/^[A-Za-z0-9_-]{8,58}$/)
  expect(body.remark).toBeUndefined()
  expect(wx.calls.modals).toEqual([]) // inside: no remark asked for
  expect(text(page.querySelector('.verdict-result'))).toBe('在签到范围内')
  expect(text(page.querySelector('.verdict-timing'))).toBe('时段：正常')
  expect(wx.__lastToast()).toBe('已签到：在范围内')
  expect(texts(page, '.checkin .result')).toEqual(['在范围内'])
  expect(queue.list()).toEqual([])
})

test('outside: the remark is asked for, sent, and the verdict shows the distance and each flag in Chinese', async () => {
  const page = await open(undefined, {
    verdict: {
      result: 'outside',
      result_label: '不在范围内',
      distance_m: 712.4,
      timing: 'late',
      timing_label: '迟到',
      timing_reason: '晚于08:40',
      flags: ['impossible_speed', 'repeated_position'],
      flag_labels: { impossible_speed: '移动速度不可能', repeated_position: '多日位置完全相同' },
      flag_reasons: { impossible_speed: '5分钟内移动1.0公里' }
    }
  })
  wx.__setLocation(FAR)
  wx.__answerModals(true, '到镇里开会')
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkin' } } })
  await settle()
  expect(wx.calls.modals).toHaveLength(1)
  expect(wx.calls.modals[0].title).toBe('不在签到范围内')
  expect(wx.calls.modals[0].content).toMatch(/^当前位置距签到范围约 \d+ 米，仍可签到，请说明原因$/)
  expect(server.posts[0].remark).toBe('到镇里开会')
  expect(text(page.querySelector('.verdict-result'))).toBe('不在签到范围内，相距 712 米')
  expect(text(page.querySelector('.verdict-timing'))).toBe('时段：迟到（晚于08:40）')
  expect(text(page.querySelector('.verdict-remark'))).toBe('说明：到镇里开会')
  const badges = page.querySelector('.verdict').dom.textContent
  expect(badges).toContain('移动速度不可能')
  expect(badges).toContain('多日位置完全相同')
  expect(badges).toContain('移动速度不可能：5分钟内移动1.0公里')
  expect(text(page.querySelector('.hint'))).toMatch(/^当前位置距签到范围约 7\d\d 米/)
})

test('outside with a remark already typed asks nothing; cancelling the question sends nothing', async () => {
  const page = await open()
  wx.__setLocation(FAR)
  wx.__answerModals(false)
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkout' } } })
  expect(server.posts).toEqual([])
  expect(queue.list()).toEqual([])
  page.instance.onRemarkInput({ detail: { value: '入户走访' } })
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkout' } } })
  expect(wx.calls.modals).toHaveLength(1)
  expect(server.posts.map((p) => [p.kind, p.remark])).toEqual([['checkout', '入户走访']])
})

test('no network: the check-in stays on the phone; 重新提交 sends the same client_id and read_at', async () => {
  const page = await open(undefined, { network: { up: false } })
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkin' } } })
  await settle()
  expect(wx.__lastToast()).toBe(queue.MESSAGES.network)
  expect(texts(page, '.pending-item .retry')).toEqual(['重新提交'])
  expect(text(page.querySelector('.pending-error'))).toBe(queue.MESSAGES.network)
  const first = server.posts[0]

  server.network.up = true
  page.querySelector('.retry').dispatchEvent('tap')
  await settle()
  await settle()
  expect(server.posts).toHaveLength(2)
  expect([server.posts[1].client_id, server.posts[1].read_at]).toEqual([first.client_id, first.read_at])
  expect(server.rows.size).toBe(1)
  expect(page.querySelectorAll('.pending-item')).toHaveLength(0)
  expect(text(page.querySelector('.verdict-result'))).toBe('在签到范围内')
})

test('a check-in left on the phone goes out when the page shows again or the network comes back', async () => {
  const page = await open(undefined, { network: { up: false } })
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkin' } } })
  server.network.up = true
  wx.__setNetwork(true)
  await settle()
  await settle()
  expect(server.rows.size).toBe(1)
  expect(wx.__lastToast()).toBe('已补交 1 条签到')
  expect(page.instance.data.pending).toEqual([])
})

test('several villages: a picker, the one from ?org_id= first; the fence link where the member may edit', async () => {
  const items = [duty(14, '三村党支部'), duty(15, '五村党支部', { shift: null, checkins: [] })]
  const page = await open({ org_id: '15' }, { items })
  expect(text(page.querySelector('.village-picker'))).toContain('五村党支部')
  expect(text(page.querySelector('.shift'))).toBe('今天不值班')
  expect(texts(page, '.open-fences')).toEqual(['设置签到范围'])
  page.instance.onPickVillage({ detail: { value: '0' } })
  await settle()
  expect(text(page.querySelector('.village-picker'))).toContain('三村党支部')
  expect(page.querySelector('.open-fences')).toBeUndefined()
})

test('a photo check (?request_id=) takes a live photo and sends it with the reading and the request', async () => {
  const page = await open({ org_id: '14', request_id: '9' })
  expect(text(page.querySelector('.photo-check'))).toContain('拍照抽查')
  expect(page.querySelector('.photo-switch')).toBeUndefined()
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkin' } } })
  await settle()
  expect(wx.calls.media).toEqual([{ sourceType: ['camera'], mediaType: ['image'], count: 1 }])
  expect(server.posts).toEqual([])
  expect(server.uploads).toHaveLength(1)
  expect(server.uploads[0].url).toBe('/api/duty/checkins/photo')
  expect(server.uploads[0].formData).toMatchObject({ org_id: '14', kind: 'checkin', coord_sys: 'gcj02', request_id: '9' })
  expect(server.uploads[0].file.content.length).toBeGreaterThan(0)
  expect(text(page.querySelector('.verdict-result'))).toBe('在签到范围内')
  expect(page.instance.data.requestId).toBeNull() // answered: the banner goes
  expect(page.querySelector('.photo-check')).toBeUndefined()
})

test('附现场照片 takes a photo with an ordinary check-in; closing the camera sends nothing', async () => {
  const page = await open()
  page.instance.onPhotoSwitch({ detail: { value: true } })
  wx.__setCamera(null)
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkin' } } })
  expect(server.uploads).toEqual([])
  expect(queue.list()).toEqual([])
})

test('no duty today, and location refused', async () => {
  let page = await open(undefined, { items: [] })
  expect(text(page.querySelector('.no-duty'))).toContain('今天没有派驻的村')
  install()
  wx.__setLocation({ errMsg: 'getLocation:fail auth deny' })
  page = renderPage(PAGE_ID)
  opened.push(page)
  await page.instance.onLoad({})
  expect(text(page.querySelector('.location-error'))).toBe('请在设置中允许使用位置信息后重试')
  await page.instance.onCheckin({ currentTarget: { dataset: { kind: 'checkin' } } })
  expect(server.posts).toEqual([])
})
