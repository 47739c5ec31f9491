// utils/learning-labels.js: the Chinese texts and display helpers of the learning pages.
const labels = require('../../utils/learning-labels')

test('durations and countdowns in Chinese and clock form', () => {
  expect(labels.formatDuration(0)).toBe('0秒')
  expect(labels.formatDuration(45)).toBe('45秒')
  expect(labels.formatDuration(150)).toBe('2分30秒')
  expect(labels.formatDuration(240)).toBe('4分钟')
  expect(labels.formatDuration(3600)).toBe('1小时')
  expect(labels.formatDuration(3725)).toBe('1小时2分5秒')
  expect(labels.formatDuration(-5)).toBe('0秒')
  expect(labels.formatCountdown(599)).toBe('09:59')
  expect(labels.formatCountdown(3725)).toBe('1:02:05')
  expect(labels.formatCountdown(-3)).toBe('00:00')
})

test('ISO times with an offset are parsed by hand, offset included', () => {
  const utc = Date.UTC(2026, 6, 1, 1, 30, 5)
  expect(labels.parseIso('2026-07-01T09:30:05+08:00')).toBe(utc)
  expect(labels.parseIso('2026-07-01T01:30:05Z')).toBe(utc)
  expect(labels.parseIso('2026-07-01T01:30:05.123456+00:00')).toBe(utc)
  expect(labels.parseIso('2026-06-30T20:30:05-05:00')).toBe(utc)
  expect(labels.parseIso('2026-07-01')).toBeNaN()
  expect(labels.parseIso(null)).toBeNaN()
})

test('a deadline says when, and whether it has passed', () => {
  const now = Date.UTC(2026, 6, 1, 0, 0, 0)
  expect(labels.deadlineInfo('2026-07-31T23:59:00+08:00', now)).toEqual({ text: '2026-07-31 23:59 截止', overdue: false })
  expect(labels.deadlineInfo('2026-06-30T23:59:00+08:00', now)).toEqual({
    text: '2026-06-30 23:59 截止（已逾期）',
    overdue: true
  })
  expect(labels.deadlineInfo(null, now)).toEqual({ text: '', overdue: false })
})

test('campaign dates; academy channels have none', () => {
  expect(labels.campaignDates({ starts_on: '2026-07-01', ends_on: '2026-09-30' })).toBe('2026-07-01 至 2026-09-30')
  expect(labels.campaignDates({ starts_on: null, ends_on: null })).toBe('')
})

test('a rule against its daily cap, and what it gives', () => {
  const article = { code: 'article_read', name: '阅读文章', points: 1, daily_cap: 6, unit_s: null, earned_today: 3 }
  expect(labels.ruleProgress(article)).toEqual({ text: '3/6', percent: 50, capped: false })
  expect(labels.ruleProgress(Object.assign({}, article, { earned_today: 6 }))).toMatchObject({ capped: true, percent: 100 })
  expect(labels.ruleText(article)).toBe('每次得1分，每日上限6分')
  const media = { code: 'media_time', name: '视听学习', points: 1, daily_cap: 8, unit_s: 240, earned_today: 0 }
  expect(labels.ruleText(media)).toBe('每学习4分钟得1分，每日上限8分')
  expect(labels.ruleProgress({ points: 1, daily_cap: null, earned_today: 2 })).toEqual({ text: '2', percent: 0, capped: false })
})

test('ledger rows explain each entry: rule, source, day, proxy and correction marks', () => {
  const entry = {
    id: 9,
    rule: { code: 'media_time', name: '视听学习' },
    points: 1,
    day: '2026-07-01',
    source_type: 'study_day',
    source_id: null,
    proxy: true,
    corrects_id: null,
    note: null,
    created_at: '2026-07-01T09:30:05+08:00'
  }
  expect(labels.ledgerRow(entry)).toEqual({
    id: 9,
    title: '视听学习',
    source: '音视频学习时长',
    points: '+1',
    negative: false,
    day: '2026-07-01',
    time: '09:30',
    marks: '代学，不计入排行'
  })
  const correction = Object.assign({}, entry, {
    id: 10,
    rule: { code: 'correction', name: '积分更正' },
    points: -1,
    source_type: 'correction',
    proxy: false,
    corrects_id: 9,
    note: '重复计分'
  })
  expect(labels.ledgerRow(correction)).toMatchObject({ points: '-1', negative: true, marks: '更正第9号记录；重复计分' })
  expect(labels.ledgerRow(Object.assign({}, entry, { source_type: 'unknown_kind', rule: null }))).toMatchObject({
    title: 'unknown_kind',
    source: 'unknown_kind'
  })
})

test('refusals in Chinese: superseded sessions, bursts, else the server\'s own message', () => {
  expect(labels.refusalText({ code: 'session_superseded', status: 409, message: 'x' })).toMatch(/其他设备/)
  expect(labels.refusalText({ code: 'http_429', status: 429 })).toBe('操作过于频繁，请稍后再试')
  expect(labels.refusalText({ code: 'not_found', status: 404, message: '课时不存在' })).toBe('课时不存在')
  expect(labels.refusalText(null)).toBe('')
})

test('every code of the API has a Chinese name', () => {
  const chinese = /^[\u4e00-\u9fa5，、（）]+/
  ;[labels.TRACK_LABELS, labels.LESSON_KIND_LABELS, labels.QUESTION_KIND_LABELS, labels.SOURCE_LABELS].forEach((t) =>
    Object.values(t).forEach((text) => expect(text).toMatch(chinese))
  )
  expect(Object.keys(labels.LESSON_KIND_LABELS).sort()).toEqual(['article', 'audio', 'slides', 'video'])
  expect(Object.keys(labels.QUESTION_KIND_LABELS).sort()).toEqual(['judge', 'multiple', 'single'])
  expect(labels.PERIODS.map((p) => p.value)).toEqual(['day', 'week', 'month'])
  expect(labels.label(labels.TRACK_LABELS, 'compulsory')).toBe('必修')
})
