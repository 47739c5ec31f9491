/**
 * @jest-environment jsdom
 */
// pages/me's 绑定公众号 card rendered by miniprogram-simulate against a scripted server, with fake timers: the link's
// state from GET /api/me/official-account, a bind code with the instruction to send it and its countdown (gone when
// it expires), the state read again when the member comes back after sending it, and 解除绑定 after confirming.
const session = require('../../utils/session')
const { loadPage, renderPage, text } = require('../support/simulate-page')
const { scriptedWx, refusal } = require('../support/learning')

const PAGE_ID = loadPage('pages/me/me')
const flush = () => jest.advanceTimersByTimeAsync(0)

const ME = {
  member: { id: 5, name: '一村党员', role: 'member', role_label: '党员', party_status_label: '正式党员', mobile: '139****0001' },
  org: { id: 3, name: '一村党支部', breadcrumb: [{ id: 1, name: '市委' }, { id: 3, name: '一村党支部' }] },
  scope_org: null,
  wechat_bound: true
}

let server

function open({ bound = false, codes = ['123456'], expiresIn = 600 } = {}) {
  server = { bound, codes: codes.slice(), issued: 0, deletes: 0 }
  scriptedWx({
    'GET /api/me': ME,
    'GET /api/inbox/unread-count': { unread: 3 },
    'GET /api/me/official-account': () => ({
      bound: server.bound,
      bound_at: server.bound ? '2026-07-01T09:00:00+08:00' : null
    }),
    'POST /api/me/official-account/bind-code': () => {
      server.issued += 1
      const code = server.codes.shift()
      if (!code) return refusal(429, 'rate_limited', '操作太频繁，请稍后再试')
      return {
        code,
        expires_at: '2026-07-01T09:10:00+08:00',
        expires_in: expiresIn,
        instruction: `请关注本单位党建公众号，并发送：绑定 ${code}`
      }
    },
    'DELETE /api/me/official-account': () => {
      server.deletes += 1
      server.bound = false
      return { statusCode: 204, data: '' }
    }
  })
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: ME.member })
  global.getApp = () => ({ setMember() {} })
  return renderPage(PAGE_ID)
}

const card = (page) => text(page.querySelector('.official-account'))

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-07-01T01:00:00Z') })
})

afterEach(() => {
  jest.useRealTimers()
})

test('not linked: a bind code with the instruction to send it in the account, counting down', async () => {
  const page = open()
  await page.instance.onShow()
  expect(text(page.querySelector('.oa-state'))).toBe('未绑定')
  expect(page.querySelector('.oa-unbind')).toBeFalsy()
  expect(text(page.querySelector('.oa-get-code'))).toBe('获取绑定码')

  await page.instance.onGetOaCode()
  expect(server.issued).toBe(1)
  expect(text(page.querySelector('.oa-code'))).toBe('123456')
  expect(text(page.querySelector('.oa-instruction'))).toBe('在公众号内发送：绑定 123456（10分钟内有效）')
  expect(text(page.querySelector('.oa-countdown'))).toBe('10:00')
  await jest.advanceTimersByTimeAsync(61000)
  expect(text(page.querySelector('.oa-countdown'))).toBe('08:59')
  expect(text(page.querySelector('.oa-get-code'))).toBe('重新获取绑定码')
})

test('a new code replaces the old one; an expired code is taken away', async () => {
  const page = open({ codes: ['123456', '654321'], expiresIn: 3 })
  await page.instance.onShow()
  await page.instance.onGetOaCode()
  expect(text(page.querySelector('.oa-instruction'))).toBe('在公众号内发送：绑定 123456（1分钟内有效）')
  await page.instance.onGetOaCode()
  expect(text(page.querySelector('.oa-code'))).toBe('654321')
  expect(text(page.querySelector('.oa-countdown'))).toBe('00:03')
  await jest.advanceTimersByTimeAsync(3000)
  expect(page.querySelector('.oa-code')).toBeFalsy()
  expect(wx.calls.toasts).toContain('绑定码已过期，请重新获取')
  expect(text(page.querySelector('.oa-get-code'))).toBe('获取绑定码')
  // One timer only: nothing ticks any more.
  const toasts = wx.calls.toasts.length
  await jest.advanceTimersByTimeAsync(5000)
  expect(wx.calls.toasts).toHaveLength(toasts)
})

test('a refused code shows the server\'s message and no code', async () => {
  const page = open({ codes: [] })
  await page.instance.onShow()
  await page.instance.onGetOaCode()
  expect(wx.calls.toasts).toEqual(['操作太频繁，请稍后再试'])
  expect(page.querySelector('.oa-code')).toBeFalsy()
  expect(page.instance.data.oaBusy).toBe(false)
})

test('back from the account after sending the code: linked, the code is gone', async () => {
  const page = open()
  await page.instance.onShow()
  await page.instance.onGetOaCode()
  page.instance.onHide()
  server.bound = true // the member sent 绑定 123456 in the account's chat
  await page.instance.onShow()
  expect(text(page.querySelector('.oa-state'))).toBe('已绑定')
  expect(page.querySelector('.oa-code')).toBeFalsy()
  expect(page.querySelector('.oa-get-code')).toBeFalsy()
  const toasts = wx.calls.toasts.length
  await jest.advanceTimersByTimeAsync(700000)
  expect(wx.calls.toasts).toHaveLength(toasts) // no countdown left running
})

test('back from the account without binding: the countdown goes on from where it was', async () => {
  const page = open()
  await page.instance.onShow()
  await page.instance.onGetOaCode()
  page.instance.onHide()
  await jest.advanceTimersByTimeAsync(120000)
  expect(text(page.querySelector('.oa-countdown'))).toBe('10:00') // hidden: not ticking
  await page.instance.onShow()
  expect(text(page.querySelector('.oa-state'))).toBe('未绑定')
  expect(text(page.querySelector('.oa-countdown'))).toBe('08:00')
})

test('解除绑定 asks first; cancelled changes nothing, confirmed unbinds', async () => {
  const page = open({ bound: true })
  await page.instance.onShow()
  expect(text(page.querySelector('.oa-state'))).toBe('已绑定')
  expect(card(page)).toContain('解除绑定')

  wx.__answerModals(false)
  const cancelled = page.instance.onUnbindOa()
  await flush()
  await cancelled
  expect(server.deletes).toBe(0)

  wx.__answerModals(true)
  const confirmed = page.instance.onUnbindOa()
  await flush()
  await confirmed
  expect(wx.calls.modals.map((m) => m.title)).toEqual(['解除公众号绑定', '解除公众号绑定'])
  expect(wx.calls.modals[1].content).toBe('解除后将不再通过公众号接收提醒，确定解除吗？')
  expect(server.deletes).toBe(1)
  expect(wx.calls.toasts).toContain('已解除公众号绑定')
  expect(text(page.querySelector('.oa-state'))).toBe('未绑定')
  expect(text(page.querySelector('.oa-get-code'))).toBe('获取绑定码')
})

test('the inbox entry shows the unread count and opens the inbox', async () => {
  const page = open()
  await page.instance.onShow()
  expect(text(page.querySelector('.inbox .badge'))).toBe('3')
  const navigated = []
  wx.navigateTo = (options) => navigated.push(options.url)
  page.instance.onOpenInbox()
  expect(navigated).toEqual(['/pages/inbox/inbox'])
})
