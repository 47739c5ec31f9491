// Planning a meeting from the mini-program against the live backend: the form, the server's field errors next to
// the fields, the new meeting's page, and the branch's meeting list opened from the secretary's home entry.
// Accounts: sec_v1 creates meetings of 一村党支部 here (other files only add meetings of their own).
const { useLiveServer } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')

let live

beforeEach(async () => {
  live = useLiveServer()
  launchApp()
  await loginWithAccount(live.info.accounts.sec_v1.username, live.info.password)
})

const kindIndex = (page, predicate) => page.data.kinds.findIndex(predicate)
const lastListQuery = () =>
  wx.calls.requests.filter((r) => r.method === 'GET' && r.url.endsWith('/api/meetings')).pop().data

test('a secretary plans a 党课: the form checks what it can, the server the rest, and the meeting opens', async () => {
  const v1 = live.info.orgs.v1
  const page = await openPage(`/pages/meeting-create/meeting-create?org_id=${v1.id}`)
  expect(page.data.org.id).toBe(v1.id)
  const codes = page.data.kinds.map((kind) => kind.code)
  expect(codes).toEqual(expect.arrayContaining(['branch_committee', 'party_lecture']))
  expect(page.data.venueText).toBe('组织活动场所（默认）')

  // An empty form is not sent.
  const sent = wx.calls.requests.length
  const navigated = wx.calls.navigations.length
  await page.onSubmit()
  expect(page.data.errors.kind).toBe('请选择会议类型')
  expect(wx.calls.requests.length).toBe(sent)

  // 党课 needs a lecturer; the title follows the kind until typed.
  const lecture = kindIndex(page, (kind) => kind.code === 'party_lecture')
  page.onKindChange(event({ value: lecture }))
  expect(page.data.kind.needs_lecturer).toBe(true)
  expect(page.data.title).toBe('党课')
  await page.onSubmit()
  expect(page.data.errors.lecturer_name).toBe('请填写主讲人')
  expect(wx.calls.requests.length).toBe(sent)

  // Which kinds a branch holds is the server's rule: its message lands under the kind.
  const leadership = kindIndex(page, (kind) => kind.audience === 'leadership')
  page.onKindChange(event({ value: leadership }))
  await page.onSubmit()
  const refused = wx.calls.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/api/meetings'))
  expect(refused).toHaveLength(1)
  expect(refused[0].data.kind).toBe(page.data.kind.code)
  expect(page.data.errors.kind).toMatch(/[\u4e00-\u9fa5]/)
  expect(page.data.hint).toBe('')
  expect(wx.calls.navigations).toHaveLength(navigated)

  // The real one, at a place picked on the map.
  page.onKindChange(event({ value: lecture }))
  expect(page.data.title).toBe('党课')
  page.onInput(event({ dataset: { field: 'title' }, value: '七月党课：学习党章' }))
  page.onInput(event({ dataset: { field: 'topic' }, value: '学习党章第一章' }))
  page.onInput(event({ dataset: { field: 'lecturer_name' }, value: '王老师' }))
  page.onStartChange(event({ value: '14:00' }))
  page.onEndChange(event({ value: '15:30' }))
  wx.__setChosenLocation({ name: '村委会议室', address: '一村村委会', latitude: 26.5813, longitude: 106.7152 })
  page.onChooseVenue()
  await new Promise((resolve) => setTimeout(resolve, 5))
  expect(page.data.venueText).toBe('村委会议室')
  await page.onSubmit()
  expect(page.data.errors).toEqual({})
  expect(wx.calls.toasts).toContain('会议已创建')
  const created = wx.calls.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/api/meetings')).pop()
  expect(created.data).toMatchObject({
    org_id: v1.id,
    kind: 'party_lecture',
    lecturer_name: '王老师',
    starts_at: `${page.data.date}T14:00:00+08:00`,
    ends_at: `${page.data.date}T15:30:00+08:00`,
    venue: { name: '村委会议室', latitude: 26.5813, longitude: 106.7152, coord_sys: 'gcj02' }
  })
  const last = wx.__lastNavigation()
  expect(last.type).toBe('redirectTo')
  expect(last.url).toMatch(/^\/pages\/meeting\/meeting\?id=\d+$/)

  const detail = await followNavigation()
  expect(detail.data.failed).toBe(false)
  expect(detail.data.meeting).toMatchObject({
    title: '七月党课：学习党章',
    kindName: '党课',
    lecturer: '王老师',
    topic: '学习党章第一章',
    venueText: '村委会议室',
    orgName: v1.name
  })
  expect(detail.data.meeting.timeText).toBe(`${page.data.date} 14:00 至 15:30`)
  expect(detail.data.meeting.statusLabel).toMatch(/[\u4e00-\u9fa5]/)
  // The whole branch is expected; the secretary may take photos and mark attendance.
  const names = detail.data.attendees.map((a) => a.name)
  expect(names).toEqual(expect.arrayContaining([live.info.accounts.sec_v1.name, live.info.accounts.member_v1.name]))
  expect(detail.data.attendees.every((a) => a.statusLabel)).toBe(true)
  expect(detail.data.can).toMatchObject({ upload: true, mark_attendance: true, review: false })
  expect(wx.calls.titles).toContain('党课')
})

test('the branch\'s meetings are listed, filtered by kind and status, and open their pages', async () => {
  const v1 = live.info.orgs.v1
  // Two meetings of this branch, of two kinds, so the filters have something to tell apart.
  const create = await openPage(`/pages/meeting-create/meeting-create?org_id=${v1.id}&kind=theme_day`)
  expect(create.data.kind.code).toBe('theme_day')
  expect(create.data.title).toBe('主题党日')
  await create.onSubmit()
  expect(wx.calls.toasts).toContain('会议已创建')

  // The page the secretary's home entry opens (services/home.py).
  const list = await openPage(`/pages/meetings/meetings?org_id=${v1.id}`)
  expect(list.data.reviewMode).toBe(false)
  expect(list.data.canCreate).toBe(true)
  expect(list.data.isDepartment).toBe(false)
  expect(list.data.meetingsMeta.total).toBeGreaterThan(0)
  expect(list.data.rows.map((row) => row.title)).toContain('主题党日')
  expect(list.data.rows.every((row) => row.statusLabel && row.kindName && row.timeText)).toBe(true)

  // Only 主题党日.
  await list.onKindChange(event({ value: list.data.kinds.findIndex((kind) => kind.code === 'theme_day') }))
  expect(list.data.rows.length).toBeGreaterThan(0)
  expect(list.data.rows.every((row) => row.kindName === '主题党日')).toBe(true)
  expect(lastListQuery()).toMatchObject({ org_id: v1.id, kind: 'theme_day', page: 1 })

  // Nothing of this kind is under review.
  await list.onStatusChange(event({ value: list.data.statusOptions.findIndex((o) => o.value === 'submitted') }))
  expect(lastListQuery()).toMatchObject({ kind: 'theme_day', status: 'submitted' })
  expect(list.data.rows).toEqual([])
  expect(list.data.meetingsMeta.done).toBe(true)

  // A meeting opens its page; 新建会议 opens the form for this branch.
  await list.onStatusChange(event({ value: 0 }))
  list.onMeetingTap(event({ dataset: { id: list.data.rows[0].id } }))
  const detail = await followNavigation()
  expect(detail.data.meeting.id).toBe(list.data.rows[0].id)
  list.onCreate()
  expect(wx.__lastNavigation().url).toBe(`/pages/meeting-create/meeting-create?org_id=${v1.id}`)
})

test('the secretary\'s home has the entry to the branch\'s meetings, and it opens the list', async () => {
  const v1 = live.info.orgs.v1
  const home = await openPage('/pages/home/home')
  const entry = home.data.entries.find((e) => e.page === `/pages/meetings/meetings?org_id=${v1.id}`)
  expect(entry).toBeDefined()
  expect(entry.title).toMatch(/[\u4e00-\u9fa5]/)
  home.onEntrySelect(event({ detail: { key: entry.key, page: entry.page } }))
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: entry.page })
  const list = await followNavigation()
  expect(list.data.orgId).toBe(v1.id)
  expect(list.data.meetingsMeta.done).toBe(true)
  expect(lastListQuery()).toMatchObject({ org_id: v1.id })
})
