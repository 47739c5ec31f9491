// First login with an initial password: the server insists on a new password before anything else.
const session = require('../../utils/session')
const { useLiveServer } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')

const NEW_PASSWORD = 'Hongqi#2026jianshe'

let live

beforeEach(() => {
  live = useLiveServer()
  launchApp()
})

function fill(page, values) {
  Object.keys(values).forEach((field) => page.onInput(event({ dataset: { field }, value: values[field] })))
}

test('fresh member: login → password page → change → home; the new password is the one that works', async () => {
  const account = live.info.accounts.fresh_member
  expect(account.must_change_password).toBe(true)

  await loginWithAccount(account.username, account.password)
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/password/password' })
  const page = await followNavigation()
  expect(page.data.forced).toBe(true)
  expect(wx.calls.titles).toContain('首次登录请修改密码')

  // Anything else is refused by the server until the password is changed, and the client goes back here.
  const roster = await openPage(`/pages/members/members?org_id=${account.org_id}`)
  expect(roster.data.members).toEqual([])
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/password/password?forced=1' })
  // Home says so too (the server's must_change_password).
  await openPage('/pages/home/home')
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/password/password?forced=1' })

  // The confirmation must match; that is checked before anything is sent.
  const sent = wx.calls.requests.length
  fill(page, { current_password: account.password, new_password: NEW_PASSWORD, confirm_password: 'something-else' })
  await page.onSubmit()
  expect(page.data.errors.confirm_password).toBe('两次输入的新密码不一致')
  expect(wx.calls.requests.length).toBe(sent)

  // The server's policy decides; its Chinese message lands under the field.
  fill(page, { new_password: '12345678', confirm_password: '12345678' })
  await page.onSubmit()
  expect(page.data.errors.new_password).toMatch(/[\u4e00-\u9fa5]/)
  expect(page.data.hint).toBe(page.data.errors.new_password)

  // A wrong current password is the server's to say too.
  fill(page, { current_password: 'not-my-password', new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })
  await page.onSubmit()
  expect(page.data.errors.current_password).toMatch(/[\u4e00-\u9fa5]/)

  fill(page, { current_password: account.password })
  await page.onSubmit()
  expect(page.data.errors).toEqual({})
  expect(page.data.hint).toBe('')
  expect(wx.calls.toasts).toContain('密码已修改')
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/home/home' })
  expect(session.getMember().must_change_password).toBe(false)
  const home = await followNavigation()
  expect(home.data.member).toMatchObject({ id: account.id, must_change_password: false })
  expect(home.data.failed).toBe(false)

  // Next time: the initial password no longer works, the new one does and goes straight home.
  live = useLiveServer()
  launchApp()
  const old = await loginWithAccount(account.username, account.password)
  expect(old.data.hint).toMatch(/[\u4e00-\u9fa5]/)
  await loginWithAccount(account.username, NEW_PASSWORD)
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/home/home' })
})

test('a member not forced to change opens the same page as a plain 修改密码', async () => {
  await loginWithAccount(live.info.accounts.member_v2.username, live.info.password)
  const page = await openPage('/pages/password/password')
  expect(page.data.forced).toBe(false)
  expect(wx.calls.titles).toContain('修改密码')
})
