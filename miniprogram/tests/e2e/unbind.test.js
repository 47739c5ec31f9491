// Binding and unbinding WeChat from the "me" page; after unbinding, WeChat login is unbound again.
const session = require('../../utils/session')
const { useLiveServer } = require('../support/live')
const { launchApp, openPage } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')

const OPENID = 'o-e2e-city-admin-' + Date.now()

let live

beforeEach(() => {
  live = useLiveServer()
  launchApp()
  live.wechatUser.openid = OPENID
})

test('bind from the me page, unbind there, and WeChat login no longer logs in', async () => {
  const account = live.info.accounts.city_admin
  await loginWithAccount(account.username, live.info.password)

  // Bind the current WeChat user from the me page.
  const me = await openPage('/pages/me/me')
  expect(me.data.wechatBound).toBe(false)
  await me.onBindWechat()
  expect(wx.calls.toasts).toContain('微信绑定成功')
  expect(me.data.wechatBound).toBe(true)
  // The logged-in session is still the account's own (the WeChat answer was a bind token, not a login).
  expect(session.getMember().id).toBe(account.id)

  // WeChat login now works on its own.
  live = useLiveServer()
  launchApp()
  live.wechatUser.openid = OPENID
  await (await openPage('/pages/login/login')).onWechatLogin()
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/home/home' })
  await followNavigation()

  // Unbind, after confirming.
  const me2 = await openPage('/pages/me/me')
  expect(me2.data.wechatBound).toBe(true)
  wx.__answerModals(false)
  await me2.onUnbindWechat()
  expect(me2.data.wechatBound).toBe(true)
  wx.__answerModals(true)
  await me2.onUnbindWechat()
  expect(wx.calls.modals.map((m) => m.title)).toEqual(['解除微信绑定', '解除微信绑定'])
  expect(wx.calls.toasts).toContain('已解除绑定')
  expect(me2.data.wechatBound).toBe(false)
  const unbind = wx.calls.requests.filter((r) => r.url.endsWith('/api/auth/wechat/bind'))
  expect(unbind.map((r) => r.method)).toEqual(['DELETE'])

  // WeChat login is unbound again: it asks for the account.
  live = useLiveServer()
  launchApp()
  live.wechatUser.openid = OPENID
  const login = await openPage('/pages/login/login')
  await login.onWechatLogin()
  expect(login.data.bindPending).toBe(true)
  expect(session.isLoggedIn()).toBe(false)
  expect(wx.calls.navigations).toEqual([])
})

// Accounts are shared by the test files running in parallel: this file alone binds city_admin's WeChat.
test('binding a WeChat user that belongs to another account is refused without switching accounts', async () => {
  const taken = 'o-e2e-taken-' + Date.now()
  // city_admin's WeChat user, bound through the normal login flow …
  live.wechatUser.openid = taken
  const login = await openPage('/pages/login/login')
  await login.onWechatLogin()
  await loginWithAccount(live.info.accounts.city_admin.username, live.info.password)
  expect(wx.calls.toasts).toContain('微信绑定成功')

  // … then the super admin, on the same phone, tries to bind that WeChat user to their own account.
  live = useLiveServer()
  launchApp()
  live.wechatUser.openid = taken
  await loginWithAccount(live.info.accounts.super.username, live.info.password)
  const me = await openPage('/pages/me/me')
  await me.onBindWechat()
  expect(wx.calls.toasts).toContain('该微信已绑定其他账号')
  expect(me.data.wechatBound).toBe(false)
  expect(session.getMember().id).toBe(live.info.accounts.super.id)
})
