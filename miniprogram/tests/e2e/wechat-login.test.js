// WeChat login end to end: a code from the server's WeChat sandbox → /api/auth/wechat → not bound → account
// login binds → home; the next WeChat login goes straight in; a used code is refused in Chinese.
const session = require('../../utils/session')
const { useLiveServer } = require('../support/live')
const { launchApp, openPage } = require('../support/harness')
const { fillAndSubmitLogin, followNavigation } = require('../support/flows')

const OPENID = 'o-e2e-member-v1-' + Date.now()

let live

beforeEach(() => {
  live = useLiveServer()
  launchApp()
  live.wechatUser.openid = OPENID
})

test('an unbound WeChat user binds by logging in with the account once, then logs in with WeChat alone', async () => {
  const account = live.info.accounts.member_v1

  // 1. WeChat login: this openid is bound to no account yet.
  const login = await openPage('/pages/login/login')
  expect(login.data.bindPending).toBe(false)
  await login.onWechatLogin()
  expect(login.data.bindPending).toBe(true)
  expect(session.getBindToken()).not.toBe('')
  expect(session.isLoggedIn()).toBe(false)
  expect(wx.calls.navigations).toEqual([])
  const wechatCall = wx.calls.requests.find((r) => r.url.endsWith('/api/auth/wechat'))
  expect(wechatCall.method).toBe('POST')
  expect(wechatCall.data.code).toEqual(expect.any(String))

  // A login page opened again (the member left and came back) still knows a bind is pending.
  expect((await openPage('/pages/login/login')).data.bindPending).toBe(true)

  // 2. The account login binds the waiting WeChat user, then home.
  await fillAndSubmitLogin(login, account.username, live.info.password)
  expect(login.data.hint).toBe('')
  const bindCall = wx.calls.requests.find((r) => r.url.endsWith('/api/auth/wechat/bind'))
  expect(bindCall).toMatchObject({ method: 'POST' })
  expect(wx.calls.toasts).toContain('微信绑定成功')
  expect(session.getBindToken()).toBe('')
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/home/home' })
  const home = await followNavigation()
  expect(home.data.member.id).toBe(account.id)
  expect(home.data.due.map((item) => item.key)).not.toContain('bind_wechat')
  const me = await openPage('/pages/me/me')
  expect(me.data.wechatBound).toBe(true)

  // 3. On another day (empty storage), WeChat login with a fresh code goes straight in.
  live = useLiveServer()
  launchApp()
  live.wechatUser.openid = OPENID
  const again = await openPage('/pages/login/login')
  await again.onWechatLogin()
  expect(wx.calls.requests.filter((r) => r.url.endsWith('/api/auth/login'))).toEqual([])
  expect(session.isLoggedIn()).toBe(true)
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/home/home' })
  expect((await followNavigation()).data.member.id).toBe(account.id)
})

test('a code that was already used is refused with the server\'s Chinese message', async () => {
  const code = await live.mintCode(OPENID + '-reuse')
  const first = await live.request('POST', '/api/auth/wechat', { code })
  expect(first.statusCode).toBe(200)

  // wx.login hands the page the same (now used) code.
  wx.login = (options) => setTimeout(() => options.success({ code, errMsg: 'login:ok' }), 0)
  const login = await openPage('/pages/login/login')
  await login.onWechatLogin()
  const answer = wx.calls.requests.find((r) => r.url.endsWith('/api/auth/wechat'))
  expect(answer).toBeDefined()
  expect(wx.calls.toasts).toHaveLength(1)
  expect(wx.__lastToast()).toMatch(/[\u4e00-\u9fa5]/)
  expect(login.data.bindPending).toBe(false)
  expect(login.data.wechatLoading).toBe(false)
  expect(session.isLoggedIn()).toBe(false)
  expect(wx.calls.navigations).toEqual([])
  const refused = await live.request('POST', '/api/auth/wechat', { code })
  expect(refused.statusCode).toBe(401)
  expect(refused.data.error.code).toBe('wechat_code_invalid')
  expect(wx.__lastToast()).toBe(refused.data.error.message)
})

test('wx.login failing is reported in Chinese without calling the server', async () => {
  wx.login = (options) => setTimeout(() => options.fail({ errMsg: 'login:fail auth deny' }), 0)
  const login = await openPage('/pages/login/login')
  await login.onWechatLogin()
  expect(wx.calls.toasts).toEqual(['微信登录失败，请稍后重试'])
  expect(wx.calls.requests).toEqual([])
})
