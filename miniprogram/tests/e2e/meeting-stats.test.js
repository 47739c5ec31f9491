// The departments' statistics against the live backend: a period picked by month, quarter or year; the figures
// per kind and per organisation below; going down a level; who is behind. Accounts: town_a2_admin holds meetings
// in 三村党支部 (a subtree no other file writes to); city_admin only reads.
const { useLiveServer } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')
const { apiAs, createCurrentMeeting } = require('../support/meetings')

let live

async function start(accountName) {
  live = useLiveServer()
  launchApp()
  await loginWithAccount(live.info.accounts[accountName].username, live.info.password)
}

const statsQuery = () => wx.calls.requests.filter((r) => r.url.endsWith('/api/stats/meetings')).pop().data
const rowOf = (page, orgId) => page.data.rows.find((row) => row.orgId === orgId)

test('a township department: figures per kind and per branch, other periods, one level down', async () => {
  const admin = await apiAs('town_a2_admin')
  const { orgs } = (live = useLiveServer()).info
  const held = await createCurrentMeeting(admin, orgs.v3.id, { title: '三村支委会' })
  await admin.call('POST', `/api/meetings/${held.id}/held`, {})
  const month = held.period // the monthly kind's period, e.g. 2026-07
  const [year, monthNo] = month.split('-').map(Number)
  const quarter = `${year}Q${Math.ceil(monthNo / 3)}`

  await start('town_a2_admin')
  const page = await openPage(`/pages/meeting-stats/meeting-stats?org_id=${orgs.town_a2.id}&period=${quarter}`)
  expect(page.data.failed).toBe(false)
  expect(statsQuery()).toEqual({ org_id: orgs.town_a2.id, period: quarter })
  expect(page.data.periodType).toBe('quarter')
  expect(page.data.periodText).toMatch(new RegExp(`^${year}年第[一二三四]季度$`))
  expect(page.data.org.id).toBe(orgs.town_a2.id)

  // Per kind over the whole subtree, and the total row last.
  const codes = page.data.kinds.slice(1).map((kind) => kind.code)
  expect(codes).toContain('branch_committee')
  expect(page.data.summary.map((row) => row.code)).toEqual(codes.concat(['']))
  const committee = page.data.summary.find((row) => row.code === 'branch_committee')
  expect(committee.held).toBeGreaterThanOrEqual(1)
  expect(committee.required).toBeGreaterThanOrEqual(committee.held)
  expect(page.data.summary.pop().name).toBe('合计')

  // Per organisation: the township itself first, then 三村党支部 with its meeting.
  expect(page.data.rows[0]).toMatchObject({ orgId: orgs.town_a2.id, self: true })
  expect(rowOf(page, orgs.v3.id).counts.held).toBeGreaterThanOrEqual(1)
  page.onKindChange(event({ value: page.data.kinds.findIndex((kind) => kind.code === 'branch_committee') }))
  expect(rowOf(page, orgs.v3.id).counts).toMatchObject({ held: 1 })
  expect(page.data.rows[0].counts.held).toBe(0)

  // Other periods: the month of the meeting, then the year.
  await page.onPeriodTypeTap(event({ dataset: { type: 'month' } }))
  expect(statsQuery().period).toMatch(new RegExp(`^${year}-\\d\\d$`))
  await page.onMonthChange(event({ value: month }))
  expect(statsQuery().period).toBe(month)
  expect(page.data.periodType).toBe('month')
  expect(page.data.periodText).toBe(`${year}年${monthNo}月`)
  expect(rowOf(page, orgs.v3.id).counts.held).toBe(1)
  await page.onPeriodTypeTap(event({ dataset: { type: 'year' } }))
  expect(statsQuery().period).toBe(String(year))
  expect(page.data.periodText).toBe(`${year}年`)
  await page.onQuarterChange(event({ value: [page.data.years.indexOf(year), Math.ceil(monthNo / 3) - 1] }))
  expect(statsQuery().period).toBe(quarter)

  // The township's own row does not go anywhere; 三村党支部 opens its own statistics, same period.
  const before = wx.calls.navigations.length
  page.onRowTap(event({ dataset: { orgId: orgs.town_a2.id, self: true } }))
  expect(wx.calls.navigations).toHaveLength(before)
  page.onRowTap(event({ dataset: { orgId: orgs.v3.id, self: false } }))
  expect(wx.__lastNavigation().url).toBe(`/pages/meeting-stats/meeting-stats?org_id=${orgs.v3.id}&period=${quarter}`)
  const branch = await followNavigation()
  expect(branch.data.rows).toHaveLength(1)
  expect(branch.data.rows[0]).toMatchObject({ orgId: orgs.v3.id, self: true })

  // Its meetings are one tap away.
  branch.onMeetingsTap()
  const meetings = await followNavigation()
  expect(meetings.data.rows.map((row) => row.id)).toContain(held.id)
})

test('a year that has ended lists the organisations behind, with what they missed, in Chinese', async () => {
  await start('town_a2_admin')
  const lastYear = new Date().getFullYear() - 1
  const url = `/pages/meeting-stats/meeting-stats?org_id=${live.info.orgs.town_a2.id}&period=${lastYear}`
  const page = await openPage(url)
  expect(page.data.periodText).toBe(`${lastYear}年`)
  expect(page.data.behindTotal).toBeGreaterThan(0)
  const v3 = page.data.behind.find((entry) => entry.orgId === live.info.orgs.v3.id)
  expect(v3.name).toBe(live.info.orgs.v3.name)
  expect(v3.missing.length).toBeGreaterThan(0)
  expect(v3.missing[0]).toMatch(/应开\d+次，已开\d+次$/)
  expect(page.data.summary.find((row) => row.code === '').behind).toBeGreaterThan(0)
  page.onBehindTap(event({ dataset: { orgId: v3.orgId } }))
  expect(wx.__lastNavigation().url).toBe(`/pages/meetings/meetings?org_id=${v3.orgId}`)
})

test('the city department sees its counties for the current quarter and goes down to one', async () => {
  await start('city_admin')
  const city = live.info.orgs.city
  // The page the department's home entry opens (services/home.py).
  const page = await openPage(`/pages/meeting-stats/meeting-stats?org_id=${city.id}`)
  // No period asked: the server's default (the current quarter) is shown.
  expect(statsQuery()).toEqual({ org_id: city.id })
  expect(page.data.period).toMatch(/^\d{4}Q[1-4]$/)
  const county = rowOf(page, live.info.orgs.county_a.id)
  expect(county.self).toBe(false)
  page.onRowTap(event({ dataset: { orgId: county.orgId, self: false } }))
  const down = await followNavigation()
  expect(down.data.org.id).toBe(live.info.orgs.county_a.id)
  expect(down.data.period).toBe(page.data.period)
})

test('the city department\'s home has the statistics entry, and it opens the page', async () => {
  await start('city_admin')
  const city = live.info.orgs.city
  const home = await openPage('/pages/home/home')
  const entry = home.data.entries.find((e) => e.page === `/pages/meeting-stats/meeting-stats?org_id=${city.id}`)
  expect(entry).toBeDefined()
  home.onEntrySelect(event({ detail: { key: entry.key, page: entry.page } }))
  const page = await followNavigation()
  expect(page.data.failed).toBe(false)
  expect(page.data.org.id).toBe(city.id)
})

test('statistics are for departments: a secretary is told the page cannot be shown', async () => {
  await start('sec_v1')
  const page = await openPage(`/pages/meeting-stats/meeting-stats?org_id=${live.info.orgs.v1.id}`)
  expect(page.data.failed).toBe(true)
  expect(page.data.rows).toEqual([])
  expect(wx.__lastToast()).toMatch(/[\u4e00-\u9fa5]/)
})
