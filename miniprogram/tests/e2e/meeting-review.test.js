// The township department's review queue against the live backend: submitted meetings of the branches below,
// filtered by photo flag; returning needs a reason; a pass (with a score) freezes the record; a returned record
// is corrected and submitted again. Accounts: town_a1_admin reviews; sec_v1 and sec_v2 submit meetings made here.
const { useLiveServer, httpUpload } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')
const { apiAs, isoIn, createCurrentMeeting, createSubmittedMeeting } = require('../support/meetings')
const { TINY_JPEG } = require('../support/photo')

let live

async function start(accountName) {
  live = useLiveServer()
  launchApp()
  await loginWithAccount(live.info.accounts[accountName].username, live.info.password)
}

function queueUrl() {
  return `/pages/meetings/meetings?org_id=${live.info.orgs.town_a1.id}&descendants=1&status=submitted`
}

// A scene photo sent from far outside the venue, straight to the API (another phone's upload).
async function uploadFarAway(api, meetingId) {
  const res = await httpUpload({
    url: `${live.info.base_url}/api/meetings/${meetingId}/photos`,
    name: 'file',
    formData: {
      client_id: 'far-away-' + meetingId,
      latitude: '26.7012',
      longitude: '106.6953',
      accuracy: '10',
      coord_sys: 'gcj02',
      taken_at: isoIn(0)
    },
    header: { Authorization: 'Bearer ' + api.token },
    file: { name: 'far.jpg', content: TINY_JPEG }
  })
  expect(res.statusCode).toBe(201)
  return JSON.parse(res.data)
}

const reviewPosts = () => wx.calls.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/review'))

test('review queue: flag filter, return with a reason, pass with a score, resubmission', async () => {
  live = useLiveServer()
  const sec1 = await apiAs('sec_v1')
  const sec2 = await apiAs('sec_v2')
  const plain = await createSubmittedMeeting(sec1, live.info.orgs.v1.id, { title: '一村支委会（待审）' })
  // Photos are added while the record is open; this one was taken 10 km from the venue.
  const flagged = await createCurrentMeeting(sec2, live.info.orgs.v2.id, { kind: 'theme_day', title: '二村主题党日（待审）' })
  const photo = await uploadFarAway(sec2, flagged.id)
  expect(photo.verdict.flags).toContain('outside_venue')
  await sec2.call('POST', `/api/meetings/${flagged.id}/held`, {})
  await sec2.call('POST', `/api/meetings/${flagged.id}/submit`, {})

  await start('town_a1_admin')
  const queue = await openPage(queueUrl())
  expect(queue.data.reviewMode).toBe(true)
  expect(wx.calls.titles).toContain('待审核')
  expect(queue.data.isDepartment).toBe(true)
  expect(queue.data.orgChoices[0].id).toBe(live.info.orgs.town_a1.id)
  const choices = queue.data.orgChoices.map((o) => o.id)
  expect(choices).toEqual(expect.arrayContaining([live.info.orgs.v1.id, live.info.orgs.v2.id]))
  const titles = () => queue.data.rows.map((row) => row.title)
  expect(titles()).toEqual(expect.arrayContaining(['一村支委会（待审）', '二村主题党日（待审）']))
  expect(queue.data.rows.every((row) => row.status === 'submitted' && row.orgName)).toBe(true)
  expect(queue.data.rows.find((row) => row.id === flagged.id).flagged).toBe(true)

  // Only meetings with a photo outside the venue.
  const outside = queue.data.flagOptions.findIndex((option) => option.value === 'outside_venue')
  expect(queue.data.flagOptions[outside].label).toBe('不在会场范围')
  await queue.onFlagChange(event({ value: outside }))
  expect(titles()).toContain('二村主题党日（待审）')
  expect(titles()).not.toContain('一村支委会（待审）')
  const query = wx.calls.requests.filter((r) => r.url.endsWith('/api/meetings')).pop().data
  expect(query).toMatchObject({
    org_id: live.info.orgs.town_a1.id,
    descendants: 1,
    status: 'submitted',
    flag: 'outside_venue'
  })

  // The flagged one: its photo's verdict is shown with the server's reason; returning needs one too.
  queue.onMeetingTap(event({ dataset: { id: flagged.id } }))
  const detail = await followNavigation()
  expect(detail.data.can.review).toBe(true)
  const badge = detail.data.photos[0].badges.find((b) => b.flag === 'outside_venue')
  expect(badge.reason).toMatch(/[\u4e00-\u9fa5]/)
  expect(detail.data.reviews).toEqual([])
  await detail.onReview(event({ dataset: { decision: 'return' } }))
  expect(detail.data.errors.reviewComment).toBe('请填写退回原因')
  expect(reviewPosts()).toEqual([])
  detail.onInput(event({ dataset: { field: 'reviewComment' }, value: '照片拍摄地点不在会场，请说明' }))
  wx.__answerModals(false)
  await detail.onReview(event({ dataset: { decision: 'return' } }))
  expect(reviewPosts()).toEqual([])
  wx.__answerModals(true)
  await detail.onReview(event({ dataset: { decision: 'return' } }))
  expect(reviewPosts().map((r) => r.data)).toEqual([{ decision: 'return', comment: '照片拍摄地点不在会场，请说明' }])
  expect(wx.calls.toasts).toContain('已退回')
  expect(detail.data.meeting.status).toBe('returned')
  expect(detail.data.can.review).toBe(false)
  expect(detail.data.reviews).toHaveLength(1)
  expect(detail.data.reviews[0]).toMatchObject({
    decisionLabel: '退回',
    comment: '照片拍摄地点不在会场，请说明',
    reviewer: live.info.accounts.town_a1_admin.name
  })

  // The other passes with a score (a bad score is caught first).
  await queue.onFlagChange(event({ value: 0 }))
  const passing = await openPage(`/pages/meeting/meeting?id=${plain.id}`)
  passing.onInput(event({ dataset: { field: 'reviewScore' }, value: '120' }))
  await passing.onReview(event({ dataset: { decision: 'pass' } }))
  expect(passing.data.errors.reviewScore).toBe('评分应为0到100的整数')
  passing.onInput(event({ dataset: { field: 'reviewScore' }, value: '95' }))
  await passing.onReview(event({ dataset: { decision: 'pass' } }))
  expect(reviewPosts().pop().data).toEqual({ decision: 'pass', score: 95 })
  expect(passing.data.meeting).toMatchObject({ status: 'reviewed', reviewScore: 95 })
  expect(passing.data.can).toMatchObject({ review: false, submit: false, upload: false })

  // Back in the queue, neither is waiting any more.
  await queue.onShow()
  expect(titles()).not.toContain('一村支委会（待审）')
  expect(titles()).not.toContain('二村主题党日（待审）')

  // The branch corrects and submits again, with its own score; the queue has it back.
  await start('sec_v2')
  const mine = await openPage(`/pages/meeting/meeting?id=${flagged.id}`)
  expect(mine.data.meeting.statusLabel).toBe('已退回')
  expect(mine.data.can.submit).toBe(true)
  mine.onInput(event({ dataset: { field: 'selfScore' }, value: '150' }))
  await mine.onSubmit()
  expect(mine.data.errors.selfScore).toBe('自评分应为0到100的整数')
  mine.onInput(event({ dataset: { field: 'selfScore' }, value: '85' }))
  await mine.onSubmit()
  expect(wx.calls.toasts).toContain('已提交审核')
  expect(mine.data.meeting).toMatchObject({ status: 'submitted', selfScore: 85 })
  expect(mine.data.can.review).toBe(false)

  await start('town_a1_admin')
  const back = await openPage(queueUrl())
  expect(back.data.rows.map((row) => row.title)).toContain('二村主题党日（待审）')
})

test('the department\'s home has the review entry, and it opens the queue', async () => {
  await start('town_a1_admin')
  const home = await openPage('/pages/home/home')
  const entry = home.data.entries.find((e) => e.page === queueUrl())
  expect(entry).toBeDefined()
  home.onEntrySelect(event({ detail: { key: entry.key, page: entry.page } }))
  const queue = await followNavigation()
  expect(queue.data.reviewMode).toBe(true)
  expect(queue.data.meetingsMeta.done).toBe(true)
})
