// Account login against the live backend, then the home page as each role sees it (entries decided by the server).
const session = require('../../utils/session')
const { useLiveServer } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')

let live

beforeEach(() => {
  live = useLiveServer()
  launchApp()
})

async function loginAndOpenHome(name) {
  const account = live.info.accounts[name]
  const login = await loginWithAccount(account.username, live.info.password)
  expect(login.data.hint).toBe('')
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/home/home' })
  return followNavigation()
}

test('home is the first page; without a session it sends the member to the login page', async () => {
  await openPage('/pages/home/home')
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/login/login' })
  expect(wx.calls.requests).toEqual([])
})

test('a member sees their organisation, what is due, and only the entries to study and the branch\'s meetings', async () => {
  const home = await loginAndOpenHome('member_v1')
  const account = live.info.accounts.member_v1
  expect(home.data.failed).toBe(false)
  expect(home.data.member).toMatchObject({ id: account.id, name: account.name, role: 'member' })
  expect(home.data.org.id).toBe(account.org_id)
  expect(home.data.org.name).toMatch(/[\u4e00-\u9fa5]/)
  expect(home.data.breadcrumb.split(' / ').pop()).toBe(home.data.org.name)
  expect(Array.isArray(home.data.due)).toBe(true)
  expect(home.data.entries.map((entry) => entry.page)).toEqual([
    '/pages/learning/home',
    `/pages/meetings/meetings?org_id=${account.org_id}`
  ])
  expect(home.data.entries[0]).toMatchObject({ key: 'learning', title: '学习' })
  expect(session.getAccessToken()).not.toBe('')
  expect(getApp().globalData.member.name).toBe(account.name)
})

test('a member\'s 学习 entry opens the study home, which the server fills (no test is meant for 一村 here)', async () => {
  const home = await loginAndOpenHome('member_v1')
  const entry = home.data.entries.find((e) => e.key === 'learning')
  home.onEntrySelect(event({ detail: { key: entry.key, page: entry.page } }))
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/home' })
  const study = await followNavigation() // loaded and shown, as the framework would
  expect(study.data.failed).toBe(false)
  expect(study.data.points).not.toBeNull()
  expect(study.data.dailyQuizzes).toEqual([])
  expect(study.data.exams).toEqual([])
  const examLists = wx.calls.requests.filter((r) => r.url.includes('/api/learning/exams'))
  expect(examLists.length).toBeGreaterThan(0)
})

test('a secretary sees 党员名册 and 支部信息, and 党员名册 opens the branch roster', async () => {
  const home = await loginAndOpenHome('sec_v1')
  const titles = home.data.entries.map((entry) => entry.title)
  expect(titles).toEqual(expect.arrayContaining(['党员名册', '支部信息']))
  expect(titles).not.toContain('下级组织')

  const roster = home.data.entries.find((entry) => entry.key === 'branch_members')
  home.onEntrySelect(event({ detail: { key: roster.key, page: roster.page } }))
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: roster.page })
  const members = await followNavigation()
  expect(members.data.membersMeta.total).toBeGreaterThan(0)
  const names = members.data.members.map((member) => member.name)
  expect(names).toContain(live.info.accounts.member_v1.name)
  expect(names).toContain(live.info.accounts.sec_v1.name)
  expect(members.data.members.every((member) => member.org_name)).toBe(true)

  // Search narrows the roster; the server does the searching.
  members.onSearchInput(event({ value: live.info.accounts.member_v1.name }))
  await members.onSearch()
  expect(members.data.members.map((member) => member.name)).toEqual([live.info.accounts.member_v1.name])
  await members.onClear()
  expect(members.data.members.length).toBe(names.length)
})

test('a town department admin sees 下级组织, which lists the organisations below', async () => {
  const home = await loginAndOpenHome('town_a1_admin')
  const titles = home.data.entries.map((entry) => entry.title)
  expect(titles).toEqual(expect.arrayContaining(['下级组织', '党员查询']))
  expect(titles).not.toContain('党员名册')

  const subOrgs = home.data.entries.find((entry) => entry.key === 'sub_orgs')
  home.onEntrySelect(event({ detail: { key: subOrgs.key, page: subOrgs.page } }))
  const org = await followNavigation()
  expect(org.data.failed).toBe(false)
  // The entry points at the organisation the admin manages (scope), which the server chose.
  expect(home.data.scopeOrg).not.toBeNull()
  expect(org.data.org.id).toBe(home.data.scopeOrg.id)
  expect(org.data.children.length).toBeGreaterThan(0)
  expect(org.data.childrenMeta).toMatchObject({ loading: false, done: true, total: org.data.children.length })

  // A child opens its own organisation page.
  const child = org.data.children[0]
  org.onChildTap(event({ dataset: { id: child.id } }))
  const childPage = await followNavigation()
  expect(childPage.data.org.name).toBe(child.name)

  // 党员查询 searches the whole subtree.
  const search = home.data.entries.find((entry) => entry.key === 'member_search')
  const members = await openPage(search.page)
  expect(members.data.descendants).toBe(true)
  expect(members.data.members.map((member) => member.name)).toContain(live.info.accounts.member_v1.name)
})

test('an organisation outside the member\'s scope is refused by the server and the page says so', async () => {
  await loginWithAccount(live.info.accounts.sec_v1.username, live.info.password)
  const org = await openPage(`/pages/org/org?id=${live.info.accounts.city_admin.org_id}`)
  expect(org.data.failed).toBe(true)
  expect(wx.__lastToast()).toMatch(/[\u4e00-\u9fa5]/)
})

test('a wrong password is refused with the server\'s Chinese message and no navigation', async () => {
  const login = await loginWithAccount(live.info.accounts.member_v2.username, 'Wrong-password-1')
  expect(login.data.hint).toMatch(/[\u4e00-\u9fa5]/)
  expect(wx.calls.navigations).toEqual([])
  expect(session.getAccessToken()).toBe('')
})

test('an empty form is not sent', async () => {
  const login = await loginWithAccount('', '')
  expect(login.data.hint).toBe('请输入账号和密码')
  expect(wx.calls.requests).toEqual([])
})

test('the me page shows the profile; logging out ends the session on the server', async () => {
  await loginWithAccount(live.info.accounts.member_v2.username, live.info.password)
  const oldAccess = session.getAccessToken()
  const me = await openPage('/pages/me/me')
  expect(me.data.member.name).toBe(live.info.accounts.member_v2.name)
  expect(me.data.org.id).toBe(live.info.accounts.member_v2.org_id)
  expect(me.data.wechatBound).toBe(false)

  await me.onLogout()
  expect(wx.calls.modals.map((modal) => modal.title)).toEqual(['退出登录'])
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/login/login' })
  expect(session.isLoggedIn()).toBe(false)
  const res = await live.request('GET', '/api/me', null, oldAccess)
  expect(res.statusCode).toBe(401)
})
