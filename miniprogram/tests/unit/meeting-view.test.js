// utils/meeting-view, utils/meeting-labels and the format helpers the meeting pages use.
const config = require('../../config')
const { isoLocal, businessIso, businessNow, absoluteUrl, periodLabel } = require('../../utils/format')
const { flagBadges, FLAG_OPTIONS, STATUS_OPTIONS } = require('../../utils/meeting-labels')
const view = require('../../utils/meeting-view')

test('a capture time keeps the phone\'s clock and offset, to the second', () => {
  const at = new Date(2026, 6, 1, 9, 5, 7)
  const iso = isoLocal(at)
  expect(iso).toMatch(/^2026-07-01T09:05:07[+-]\d\d:\d\d$/)
  expect(Date.parse(iso)).toBe(at.getTime())
})

test('meetings are planned in the business time zone whatever the phone\'s', () => {
  expect(businessIso('2026-07-01', '09:30')).toBe('2026-07-01T09:30:00+08:00')
  // 2026-06-30 17:00 UTC is already 1 July in Beijing.
  expect(businessNow(new Date(Date.UTC(2026, 5, 30, 17, 0)))).toEqual({ date: '2026-07-01', time: '01:00' })
})

test('URLs starting with / are relative to the API origin', () => {
  config.apiBase = 'https://api.test'
  expect(absoluteUrl('/api/files/abc?sig=1')).toBe('https://api.test/api/files/abc?sig=1')
  expect(absoluteUrl('https://cdn.test/x.jpg')).toBe('https://cdn.test/x.jpg')
  expect(absoluteUrl(null)).toBe('')
})

test('periods in Chinese', () => {
  expect(periodLabel('2026-07')).toBe('2026年7月')
  expect(periodLabel('2026Q3')).toBe('2026年第三季度')
  expect(periodLabel('2026')).toBe('2026年')
  expect(periodLabel('')).toBe('')
})

test('flag badges: the server\'s label first, then this build\'s, else the code; reasons as given', () => {
  const badges = flagBadges(['late_upload', 'outside_venue', 'new_flag'], { outside_venue: '距会场343米' }, {
    late_upload: '迟传'
  })
  expect(badges).toEqual([
    { flag: 'late_upload', label: '迟传', reason: '' },
    { flag: 'outside_venue', label: '不在会场范围', reason: '距会场343米' },
    { flag: 'new_flag', label: 'new_flag', reason: '' }
  ])
  expect(flagBadges(undefined)).toEqual([])
  // Every filter choice has a Chinese label.
  FLAG_OPTIONS.concat(STATUS_OPTIONS).forEach((option) => expect(option.label).toMatch(/[\u4e00-\u9fa5]/))
})

test('a meeting\'s time: the end shown as a time on the same day, in full otherwise', () => {
  const sameDay = { starts_at: '2026-07-01T09:00:00+08:00', ends_at: '2026-07-01T10:30:00+08:00' }
  const overnight = { starts_at: '2026-07-01T20:00:00+08:00', ends_at: '2026-07-02T08:00:00+08:00' }
  expect(view.timeText(sameDay)).toBe('2026-07-01 09:00 至 10:30')
  expect(view.timeText(overnight)).toBe('2026-07-01 20:00 至 2026-07-02 08:00')
})

test('the venue: its name, the organisation\'s place, or none set', () => {
  expect(view.venueText({ venue: { name: '村委会议室', latitude: 1, longitude: 2 } })).toBe('村委会议室')
  expect(view.venueText({ venue: { name: null, latitude: 1, longitude: 2 } })).toBe('组织活动场所')
  expect(view.venueText({ venue: null })).toBe('未设置会场位置')
})

test('an attendee: reason with note, distance outside the fence, flags as badges', () => {
  const row = view.attendee({
    member_id: 3,
    name: '张三',
    status: 'absent',
    status_label: '缺席',
    absence_reason_label: '病假',
    absence_note: '住院',
    signed_at: null,
    distance_m: 0,
    flags: [],
    proxy: false
  })
  expect(row).toMatchObject({ memberId: 3, reasonText: '病假：住院', distanceText: '', signedText: '', badges: [] })
  const far = view.attendee({ member_id: 4, name: '李四', status: 'present', distance_m: 1234.6, flags: ['outside_venue'] })
  expect(far.distanceText).toBe('距会场 1235 米')
  expect(far.badges.map((b) => b.label)).toEqual(['不在会场范围'])
})
