/**
 * @jest-environment jsdom
 */
// pages/inbox rendered by miniprogram-simulate with a scripted server: the list with unread marks and count,
// opening a notification (marked read, then its page opens), mark all read, and the reminder button.
const config = require('../../config')
const session = require('../../utils/session')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/inbox/inbox')
const TEMPLATE = 'SBX_TODO_REMINDER'

function note(id, extra) {
  return Object.assign(
    {
      id,
      category: 'meeting_due',
      category_label: '会议提醒',
      title: `提醒${id}`,
      body: '本月支部委员会会议尚未召开',
      page: `/pages/meeting/meeting?id=${id}`,
      org_name: '一村党支部',
      due_at: null,
      created_at: '2026-12-04T09:30:00+08:00',
      read: false,
      read_at: null
    },
    extra
  )
}

let server

function install(items) {
  server = { items: items.slice(), reads: [], readAll: 0, subscriptions: [] }
  const unread = () => server.items.filter((n) => !n.read).length
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (url === '/api/inbox') {
        return {
          statusCode: 200,
          data: { items: server.items, meta: { total: server.items.length, page: 1, per_page: 20 }, unread: unread() }
        }
      }
      if (url === '/api/inbox/unread-count') return { statusCode: 200, data: { unread: unread() } }
      if (url === '/api/inbox/read-all') {
        server.readAll += 1
        server.items.forEach((n) => (n.read = true))
        return { statusCode: 200, data: { marked: 2, unread: 0 } }
      }
      const read = url.match(/^\/api\/inbox\/(\d+)\/read$/)
      if (read) {
        const n = server.items.find((it) => it.id === Number(read[1]))
        if (!n) return { statusCode: 404, data: { error: { code: 'not_found', message: '消息不存在' } } }
        server.reads.push(n.id)
        n.read = true
        return { statusCode: 200, data: Object.assign({}, n, { unread: unread() }) }
      }
      if (url === '/api/me/subscriptions' && options.method === 'GET') {
        return { statusCode: 200, data: { templates: [{ template_id: TEMPLATE, credits: 0 }] } }
      }
      if (url === '/api/me/subscriptions' && options.method === 'POST') {
        server.subscriptions.push(options.data)
        return { statusCode: 200, data: { templates: [{ template_id: TEMPLATE, credits: 1 }] } }
      }
      throw new Error('unexpected ' + url)
    }
  })
  wx.subscribeCalls = []
  wx.requestSubscribeMessage = (options) => {
    wx.subscribeCalls.push(options.tmplIds)
    setTimeout(() => options.success({ errMsg: 'requestSubscribeMessage:ok', [TEMPLATE]: 'accept' }), 0)
  }
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 5, role: 'member' } })
}

async function open() {
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad({})
  await new Promise((resolve) => setTimeout(resolve, 0))
  return page
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

test('lists notifications with unread marks and the unread count', async () => {
  install([note(3), note(2, { read: true, org_name: null }), note(1)])
  const page = await open()
  expect(texts(page, '.item-title')).toEqual(['提醒3', '提醒2', '提醒1'])
  expect(page.querySelectorAll('.dot')).toHaveLength(2)
  expect(text(page.querySelector('.badge'))).toBe('2')
  expect(texts(page, '.label')).toEqual(['会议提醒', '会议提醒', '会议提醒'])
  expect(texts(page, '.item-foot')[0]).toBe('一村党支部 · 2026-12-04 09:30')
  expect(texts(page, '.item-foot')[1]).toBe('2026-12-04 09:30')
  expect(text(page.querySelector('.more'))).toBe('没有更多了')
})

test('opening an unread notification marks it read, then opens its page', async () => {
  install([note(3), note(1)])
  const page = await open()
  page.querySelectorAll('.item')[1].dispatchEvent('tap')
  await flush()
  await flush()
  expect(server.reads).toEqual([1])
  expect(page.querySelectorAll('.dot')).toHaveLength(1)
  expect(text(page.querySelector('.badge'))).toBe('1')
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/meeting/meeting?id=1' })
})

test('an already read notification opens without a request; a tab page is switched to', async () => {
  install([note(1, { read: true, page: '/pages/home/home' })])
  const page = await open()
  await page.instance.onItemTap({ currentTarget: { dataset: { id: 1 } } })
  expect(server.reads).toEqual([])
  expect(wx.__lastNavigation()).toEqual({ type: 'switchTab', url: '/pages/home/home' })
})

test('a refused mark-read (404) opens nothing', async () => {
  install([note(1)])
  const page = await open()
  server.items = []
  await page.instance.onItemTap({ currentTarget: { dataset: { id: 1 } } })
  expect(wx.calls.navigations).toEqual([])
  expect(wx.calls.toasts).toEqual(['消息不存在'])
})

test('mark all read clears the marks and the count', async () => {
  install([note(2), note(1)])
  const page = await open()
  await page.instance.onReadAll()
  expect(server.readAll).toBe(1)
  expect(page.querySelectorAll('.dot')).toHaveLength(0)
  expect(page.querySelector('.badge')).toBeUndefined()
  await page.instance.onReadAll()
  expect(server.readAll).toBe(1) // nothing unread: no request
})

test('the reminder button opens WeChat prompt at once with the templates loaded before the tap', async () => {
  install([])
  const page = await open()
  expect(text(page.querySelector('.empty'))).toBe('暂无消息')
  const pending = page.instance.onSubscribeTap()
  expect(wx.subscribeCalls).toEqual([[TEMPLATE]]) // synchronous: WeChat insists on the tap
  await pending
  expect(server.subscriptions).toEqual([{ results: { [TEMPLATE]: 'accept' } }])
  expect(wx.calls.toasts).toEqual(['已开启微信提醒'])
})
