// At the meeting, against the live backend: members sign in with the phone's position, the secretary marks
// attendance, records the meeting as held and takes photos through the upload queue — at once, or later when the
// network is back, with the time they were taken — and members rate it. Accounts: sec_v1 and member_v1 act on
// meetings this file creates; fresh_member is only marked (never logged in here).
const config = require('../../config')
const uploadQueue = require('../../utils/upload-queue')
const { useLiveServer, httpRequest } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')
const { apiAs, isoIn, createCurrentMeeting } = require('../support/meetings')
const { TINY_JPEG, NOT_A_PHOTO } = require('../support/photo')

// Where the phone is: a few metres from 一村党支部's activity place (tests/live_server.py), or 3.3 km north of it.
const near = (dLat, dLng, accuracy) => {
  const venue = live.info.venues.v1
  const round = (x) => Number(x.toFixed(6))
  return { latitude: round(venue.latitude + dLat), longitude: round(venue.longitude + dLng), accuracy }
}
const atVenue = () => near(0.0001, -0.0001, 12)
const farAway = () => near(0.03, 0, 10)

let live
let network
let opened

async function start(accountName) {
  network = { up: true }
  live = useLiveServer({
    interceptUpload: (options, send) => {
      if (!network.up) throw { errMsg: 'uploadFile:fail timeout' }
      return send(options)
    }
  })
  launchApp()
  opened = []
  const account = live.info.accounts[accountName]
  await loginWithAccount(account.username, live.info.password)
}

async function openMeeting(id) {
  const page = await openPage(`/pages/meeting/meeting?id=${id}`)
  opened.push(page)
  return page
}

async function waitFor(condition, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
const attendee = (page, name) => page.data.attendees.find((a) => a.name === name)
const posts = (suffix) => wx.calls.requests.filter((r) => r.method === 'POST' && r.url.endsWith(suffix))

afterEach(() => opened.forEach((page) => page.onUnload()))

test('sign-in by position, attendance marked by the secretary, held, then rated by a member who was there', async () => {
  const { accounts, orgs } = (live = useLiveServer()).info
  const sec = await apiAs('sec_v1')
  const meeting = await createCurrentMeeting(sec, orgs.v1.id, { title: '七月支部委员会会议' })

  // The member's home says a meeting is on; the member goes there and signs in at the venue.
  await start('member_v1')
  const home = await openPage('/pages/home/home')
  const due = home.data.due.find((item) => item.key === 'meeting_sign_in')
  expect(due.title).toMatch(/^会议签到/)
  home.onDueSelect(event({ detail: { key: due.key, page: due.page } }))
  expect(wx.__lastNavigation().url).toMatch(/^\/pages\/meeting\/meeting\?id=\d+$/)
  const page = await openMeeting(meeting.id)
  expect(page.data.meeting.title).toBe('七月支部委员会会议')
  expect(page.data.can.sign_in).toBe(true)
  expect(page.data.can.upload).toBe(false)
  wx.__setLocation(atVenue())
  await page.onSignIn()
  expect(wx.calls.locations).toEqual([{ type: 'gcj02', isHighAccuracy: true }])
  expect(posts('/sign-in').map((r) => r.data)).toEqual([Object.assign({ coord_sys: 'gcj02' }, atVenue())])
  expect(wx.__lastToast()).toBe('签到成功')
  expect(page.data.signedIn).toBe(true)
  expect(page.data.can.sign_in).toBe(false)
  expect(attendee(page, accounts.member_v1.name)).toMatchObject({ status: 'present', badges: [] })
  expect(attendee(page, accounts.member_v1.name).signedText).not.toBe('')

  // The secretary: location refused first (nothing is sent), then from far away (kept, and flagged).
  await start('sec_v1')
  const secPage = await openMeeting(meeting.id)
  wx.__setLocation({ errMsg: 'getLocation:fail auth deny' })
  await secPage.onSignIn()
  expect(wx.__lastToast()).toBe('请在设置中允许使用位置信息后重试')
  expect(posts('/sign-in')).toEqual([])
  wx.__setLocation(farAway())
  await secPage.onSignIn()
  expect(wx.__lastToast()).toBe('已签到，但不在会场范围内')
  const secRow = attendee(secPage, accounts.sec_v1.name)
  expect(secRow.status).toBe('present')
  expect(secRow.badges.map((b) => b.flag)).toEqual(['outside_venue'])
  expect(secRow.badges[0].label).toBe('不在会场范围')
  expect(secRow.distanceText).toMatch(/^距会场 \d+ 米$/)

  // A member without a phone: first absent on leave (with a note), then signed in by the secretary.
  const fresh = accounts.fresh_member
  wx.__answerActionSheets(1)
  wx.__answerModals(true, '外出务工')
  await secPage.onMarkAttendance(event({ dataset: { memberId: fresh.id, name: fresh.name } }))
  expect(wx.calls.actionSheets[0]).toEqual(['代签到（出席）', '缺席：请假', '缺席：病假', '缺席：流动党员', '缺席：其他'])
  const put = wx.calls.requests.filter((r) => r.method === 'PUT').pop()
  expect(put.url).toBe(`${config.apiBase}/api/meetings/${meeting.id}/attendees/${fresh.id}`)
  expect(put.data).toEqual({ status: 'absent', absence_reason: 'leave', absence_note: '外出务工' })
  expect(attendee(secPage, fresh.name)).toMatchObject({ status: 'absent', reasonText: '请假：外出务工', proxy: false })
  wx.__answerActionSheets(0)
  await secPage.onMarkAttendance(event({ dataset: { memberId: fresh.id, name: fresh.name } }))
  expect(attendee(secPage, fresh.name)).toMatchObject({ status: 'present', proxy: true })
  expect(wx.calls.toasts).toContain(`已为${fresh.name}代签到`)

  // Held (it started ten minutes ago), with the minutes.
  expect(secPage.data.can.record_held).toBe(true)
  secPage.onInput(event({ dataset: { field: 'minutes' }, value: '研究七月工作安排。' }))
  await secPage.onRecordHeld()
  expect(secPage.data.meeting.status).toBe('held')
  expect(secPage.data.meeting.minutes).toBe('研究七月工作安排。')
  expect(secPage.data.can).toMatchObject({ record_held: false, submit: true })

  // The secretary's home now says a record waits to be submitted; it opens the branch's held meetings.
  const secHome = await openPage('/pages/home/home')
  const toSubmit = secHome.data.due.find((item) => item.key === 'meetings_to_submit')
  secHome.onDueSelect(event({ detail: { key: toSubmit.key, page: toSubmit.page } }))
  const held = await followNavigation()
  expect(held.data.statusOptions[held.data.statusIndex].label).toBe('已召开')
  expect(held.data.rows.map((row) => row.id)).toContain(meeting.id)
  expect(held.data.rows.every((row) => row.status === 'held')).toBe(true)

  // The member who was there rates it.
  await start('member_v1')
  const again = await openMeeting(meeting.id)
  expect(again.data.can.rate).toBe(true)
  await again.onRate(event({ dataset: { rating: 4 } }))
  expect(posts('/rating').map((r) => r.data)).toEqual([{ rating: 4 }])
  expect(again.data.myRating).toBe(4)
  expect(again.data.meeting.ratingText).toBe('4 分（1 人评价）')
})

test('a photo goes through the queue to the server, and shows with its verdict; preview uses the display copy', async () => {
  const sec = await apiAs('sec_v1')
  await start('sec_v1')
  const meeting = await createCurrentMeeting(sec, live.info.orgs.v1.id, { kind: 'party_group', title: '党小组会' })
  const page = await openMeeting(meeting.id)
  expect(page.data.can.upload).toBe(true)
  wx.__setLocation(atVenue())
  const before = Date.now()
  await page.onTakePhoto(event({ dataset: { purpose: 'scene' } }))
  expect(wx.calls.media).toEqual([{ sourceType: ['camera'], mediaType: ['image'], count: 1 }])
  expect(wx.__lastToast()).toBe('照片已上传')

  const sent = wx.calls.uploads[0]
  expect(sent.url).toBe(`${live.info.base_url}/api/meetings/${meeting.id}/photos`)
  expect(sent.header.Authorization).toMatch(/^Bearer /)
  expect(sent.formData).toMatchObject({
    purpose: 'scene',
    coord_sys: 'gcj02',
    latitude: String(atVenue().latitude),
    longitude: String(atVenue().longitude),
    accuracy: '12'
  })
  const takenAt = Date.parse(sent.formData.taken_at)
  expect(takenAt).toBeGreaterThanOrEqual(before - 1000)
  expect(takenAt).toBeLessThanOrEqual(Date.now())
  // Sent: nothing waits, and the saved copy is gone from the phone.
  expect(page.data.queue).toEqual({ pending: 0, failed: [], sending: false })
  expect(Array.from(wx.files.keys())).toEqual([])

  expect(page.data.photos).toHaveLength(1)
  const photo = page.data.photos[0]
  expect(photo.purposeLabel).toBe('现场照片')
  expect(photo.uploader).toBe(live.info.accounts.sec_v1.name)
  expect(photo.thumb.startsWith('http')).toBe(true)
  // The signed thumbnail needs no login header, as an <image src> cannot send one.
  const thumb = await httpRequest({ url: photo.thumb, method: 'GET' })
  expect(thumb.statusCode).toBe(200)
  expect(thumb.header['content-type']).toBe('image/jpeg')
  // The mini-program's photo carries no EXIF: the server says so, in Chinese, with its reason.
  const noExif = photo.badges.find((b) => b.flag === 'no_exif')
  expect(noExif.label).toMatch(/[\u4e00-\u9fa5]/)
  expect(noExif.reason).toMatch(/[\u4e00-\u9fa5]/)
  expect(photo.badges.map((b) => b.flag)).not.toContain('outside_venue')

  page.onPreviewPhoto(event({ dataset: { index: 0 } }))
  expect(wx.calls.previews).toEqual([{ current: photo.display, urls: [photo.display] }])
  expect(photo.display).not.toBe(photo.thumb)
})

test('without a network the photo waits on the phone, and goes when the network is back, with its capture time', async () => {
  const sec = await apiAs('sec_v1')
  await start('sec_v1')
  const meeting = await createCurrentMeeting(sec, live.info.orgs.v1.id, { kind: 'theme_day', title: '主题党日' })
  const page = await openMeeting(meeting.id)
  wx.__setLocation(atVenue())

  network.up = false
  await page.onTakePhoto(event({ dataset: { purpose: 'minutes' } }))
  expect(wx.__lastToast()).toBe('网络不佳，照片已保存，将自动上传')
  expect(page.data.queue.pending).toBe(1)
  expect(page.data.photos).toEqual([])
  const [waiting] = uploadQueue.list(meeting.id)
  expect(waiting.file_path.startsWith('wxfile://')).toBe(true)
  expect(waiting.last_error).toBe(uploadQueue.MESSAGES.network)

  // The app is closed and reopened meanwhile (temporary files are gone), and the network comes back.
  wx.__restart()
  getApp().onLaunch()
  network.up = true
  wx.__setNetwork(true)
  // The app's network watcher sends it; the page, listening to the queue, reloads.
  await waitFor(() => page.data.photos.length === 1)
  expect(page.data.queue.pending).toBe(0)
  expect(page.data.photos).toHaveLength(1)
  expect(page.data.photos[0].purposeLabel).toBe('会议记录')
  const attempts = wx.calls.uploads.map((u) => [u.formData.client_id, u.formData.taken_at])
  expect(attempts).toHaveLength(2)
  expect(attempts[1]).toEqual(attempts[0])
})

test('a photo sent hours after it was taken keeps its capture time, and the server marks it late', async () => {
  const sec = await apiAs('sec_v1')
  await start('sec_v1')
  const meeting = await createCurrentMeeting(sec, live.info.orgs.v1.id, { title: '支部委员会会议（补传照片）' })
  // Queued by an earlier session of the app, three hours ago, and never sent.
  wx.__putFile('http://tmp/earlier.jpg', TINY_JPEG)
  const photo = { meeting_id: meeting.id, tempFilePath: 'http://tmp/earlier.jpg', taken_at: isoIn(-180) }
  const item = await uploadQueue.add(Object.assign(photo, atVenue(), { coord_sys: 'gcj02' }))
  const page = await openMeeting(meeting.id)
  expect(page.data.queue.pending).toBe(1)
  await page.onFlushQueue()
  await page.load()
  expect(wx.calls.uploads.map((u) => u.formData.taken_at)).toEqual([item.taken_at])
  const late = page.data.photos[0].badges.find((b) => b.flag === 'late_upload')
  expect(late).toBeDefined()
  expect(late.reason).toMatch(/小时/)
})

test('a file the server refuses for good stays in the queue with the server\'s message until retried or deleted', async () => {
  const sec = await apiAs('sec_v1')
  await start('sec_v1')
  const meeting = await createCurrentMeeting(sec, live.info.orgs.v1.id, { title: '支部委员会会议（错误文件）' })
  const page = await openMeeting(meeting.id)
  wx.__setCamera(NOT_A_PHOTO)
  await page.onTakePhoto(event({ dataset: { purpose: 'scene' } }))
  expect(page.data.queue.pending).toBe(0)
  expect(page.data.queue.failed).toHaveLength(1)
  const failed = page.data.queue.failed[0]
  expect(failed.error_code).toBe('unsupported_type')
  expect(failed.last_error).toMatch(/[\u4e00-\u9fa5]/)
  expect(wx.__lastToast()).toBe(failed.last_error)
  expect(page.data.photos).toEqual([])

  // A retry sends it again (same client_id) and it is refused again: still shown.
  await page.onRetryUpload(event({ detail: { clientId: failed.client_id } }))
  expect(wx.calls.uploads.map((u) => u.formData.client_id)).toEqual([failed.client_id, failed.client_id])
  expect(page.data.queue.failed.map((it) => it.attempts)).toEqual([2])

  // Deleting asks first.
  wx.__answerModals(false)
  await page.onRemoveUpload(event({ detail: { clientId: failed.client_id } }))
  expect(page.data.queue.failed).toHaveLength(1)
  wx.__answerModals(true)
  await page.onRemoveUpload(event({ detail: { clientId: failed.client_id } }))
  expect(page.data.queue.failed).toEqual([])
  expect(uploadQueue.list()).toEqual([])
})
