/**
 * @jest-environment jsdom
 */
// The meeting page offers WeChat reminders after a photo went up (a natural moment), not after a failed one.
const config = require('../../config')
const session = require('../../utils/session')
const subscribe = require('../../utils/subscribe')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/meeting/meeting')
const TEMPLATE = 'SBX_TODO_REMINDER'

const MEETING = {
  id: 42,
  org_id: 12,
  org_name: '一村党支部',
  kind: { id: 2, code: 'branch_committee', name: '支部委员会会议', cadence: 'month' },
  title: '七月支部委员会会议',
  starts_at: '2026-07-08T09:00:00+08:00',
  ends_at: '2026-07-08T10:30:00+08:00',
  status: 'held',
  status_label: '已召开',
  venue: { name: null, latitude: 26.58, longitude: 106.71, coord_sys: 'gcj02', radius_m: 200 },
  attendance: { expected: 0, present: 0, absent: 0, proxy: 0 },
  attendees: [],
  photos: [],
  reviews: [],
  photo_count: 0,
  rating: { average: null, count: 0 },
  can: { upload: true }
}

let posted
let opened = []

function install(uploadStatus) {
  posted = []
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (url === '/api/meetings/42') return { statusCode: 200, data: MEETING }
      if (url === '/api/me/subscriptions' && options.method === 'GET') {
        return { statusCode: 200, data: { templates: [{ template_id: TEMPLATE, credits: 0 }] } }
      }
      if (url === '/api/me/subscriptions' && options.method === 'POST') {
        posted.push(options.data)
        return { statusCode: 200, data: { templates: [{ template_id: TEMPLATE, credits: 1 }] } }
      }
      throw new Error(`unexpected ${options.method} ${url}`)
    },
    uploadFile: () =>
      uploadStatus === 201
        ? { statusCode: 201, data: JSON.stringify({ id: 9 }) }
        : { statusCode: 422, data: JSON.stringify({ error: { code: 'invalid', message: '照片不符合要求' } }) }
  })
  wx.requestSubscribeMessage = (options) => {
    setTimeout(() => options.success({ errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'accept' }), 0)
  }
  wx.removeStorageSync(subscribe.STORAGE_KEY)
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 7, name: '一村书记' } })
}

async function open() {
  const page = renderPage(PAGE_ID)
  opened.push(page)
  await page.instance.onLoad({ id: '42' })
  await new Promise((resolve) => setTimeout(resolve, 0))
  return page
}

afterEach(() => {
  opened.forEach((page) => page.instance.onUnload())
  opened = []
})

test('a photo uploaded: the member is offered reminders and the answer reaches the server', async () => {
  install(201)
  const page = await open()
  await page.instance.onTakePhoto({ currentTarget: { dataset: { purpose: 'scene' } } })
  expect(wx.calls.toasts).toContain('照片已上传')
  expect(wx.calls.modals.map((m) => m.title)).toEqual(['接收消息提醒'])
  expect(posted).toEqual([{ results: { [TEMPLATE]: 'accept' } }])
})

test('a refused photo: no offer', async () => {
  install(422)
  const page = await open()
  await page.instance.onTakePhoto({ currentTarget: { dataset: { purpose: 'scene' } } })
  expect(wx.calls.modals).toEqual([])
  expect(posted).toEqual([])
})
