// Token refresh against the real server: a refused access token is refreshed once and the request replayed;
// simultaneous refusals share one refresh (the server ends the session when a refresh token is reused).
const session = require('../../utils/session')
const request = require('../../utils/request')
const { useLiveServer } = require('../support/live')
const { launchApp, openPage } = require('../support/harness')
const { loginWithAccount } = require('../support/flows')

let live

beforeEach(async () => {
  live = useLiveServer()
  launchApp()
  await loginWithAccount(live.info.accounts.county_a_admin.username, live.info.password)
  expect(session.isLoggedIn()).toBe(true)
})

const refreshCalls = () => wx.calls.requests.filter((r) => r.url.endsWith('/api/auth/refresh'))

test('a tampered access token is refreshed once and home loads', async () => {
  const refreshBefore = session.getRefreshToken()
  wx.setStorageSync(session.KEYS.access, session.getAccessToken().slice(0, -4) + 'AAAA')
  const home = await openPage('/pages/home/home')
  expect(home.data.failed).toBe(false)
  expect(home.data.member.id).toBe(live.info.accounts.county_a_admin.id)
  expect(refreshCalls()).toHaveLength(1)
  expect(session.getRefreshToken()).not.toBe(refreshBefore)
  expect(wx.calls.toasts).toEqual([])
})

test('several requests refused at once share one refresh, and the session survives', async () => {
  wx.setStorageSync(session.KEYS.access, 'not-a-token')
  const orgId = live.info.accounts.county_a_admin.org_id
  const results = await Promise.all([
    request.get('/api/me'),
    request.get('/api/home'),
    request.get(`/api/orgs/${orgId}`),
    request.get(`/api/orgs/${orgId}/children`, { page: 1, per_page: 5 })
  ])
  expect(results[0].member.id).toBe(live.info.accounts.county_a_admin.id)
  expect(results[2].id).toBe(orgId)
  expect(refreshCalls()).toHaveLength(1)
  // Still logged in: a later request works without another refresh.
  await request.get('/api/me')
  expect(refreshCalls()).toHaveLength(1)
})

test('when the refresh token is refused too, the session ends and the login page opens', async () => {
  wx.setStorageSync(session.KEYS.access, 'not-a-token')
  wx.setStorageSync(session.KEYS.refresh, 'not-a-refresh-token')
  const home = await openPage('/pages/home/home')
  expect(home.data.failed).toBe(true)
  expect(refreshCalls()).toHaveLength(1)
  expect(session.isLoggedIn()).toBe(false)
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/login/login' })
  expect(wx.calls.toasts).toEqual(['登录已过期，请重新登录'])
})

test('a session ended on the server (reused refresh token) sends the member back to login', async () => {
  // Someone replays the current refresh token: the server rotates once, then sees the reuse and ends it all.
  const stolen = session.getRefreshToken()
  const first = await live.request('POST', '/api/auth/refresh', null, stolen)
  expect(first.statusCode).toBe(200)
  const reuse = await live.request('POST', '/api/auth/refresh', null, stolen)
  expect(reuse.statusCode).toBe(401)

  const me = await openPage('/pages/me/me')
  expect(me.data.member).toBeNull()
  expect(session.isLoggedIn()).toBe(false)
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/login/login' })
})
