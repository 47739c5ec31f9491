/**
 * @jest-environment jsdom
 */
// pages/learning/points rendered by miniprogram-simulate against a scripted server: totals, today's progress
// against each rule's cap, and the ledger page by page with its sources and marks.
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')
const { scriptedWx, tick } = require('../support/learning')

const PAGE_ID = loadPage('pages/learning/points')

const RULES = [
  { code: 'login', name: '每日登录', points: 1, daily_cap: 1, unit_s: null, active: true, earned_today: 1 },
  { code: 'article_read', name: '阅读文章', points: 1, daily_cap: 6, unit_s: null, active: true, earned_today: 2 },
  { code: 'media_time', name: '视听学习', points: 1, daily_cap: 8, unit_s: 240, active: true, earned_today: 0 }
]

function entry(id, extra) {
  return Object.assign(
    {
      id,
      rule: { code: 'article_read', name: '阅读文章' },
      points: 1,
      day: '2026-07-01',
      source_type: 'lesson',
      source_id: 31,
      proxy: false,
      corrects_id: null,
      note: null,
      created_at: '2026-07-01T10:15:00+08:00'
    },
    extra
  )
}

const ENTRIES = [
  entry(30, { rule: { code: 'correction', name: '积分更正' }, source_type: 'correction', points: -1, corrects_id: 12, note: '重复计分' }),
  entry(29, { rule: { code: 'media_time', name: '视听学习' }, source_type: 'study_day', source_id: null, proxy: true }),
  entry(28, { rule: { code: 'login', name: '每日登录' }, source_type: 'login', source_id: null, created_at: '2026-07-01T08:01:00+08:00' })
]

function open() {
  const pages = []
  scriptedWx({
    'GET /api/learning/points/me': { total: 57, today: 3, day: '2026-07-01', rules: RULES },
    'GET /api/learning/points/me/ledger': (options) => {
      pages.push(options.data.page)
      const items = options.data.page === 1 ? ENTRIES.slice(0, 2) : ENTRIES.slice(2)
      return { items, meta: { total: 3, page: options.data.page, per_page: 20 } }
    }
  })
  const page = renderPage(PAGE_ID)
  return { page, pages }
}

test('totals and today\'s progress against each rule\'s daily cap', async () => {
  const { page } = open()
  await page.instance.onLoad()
  await tick()
  expect(texts(page, '.value')).toEqual(['3', '57'])
  const rules = page.querySelectorAll('.rule-row').map(text)
  expect(rules[0]).toContain('每日登录')
  expect(rules[0]).toContain('1/1 已达上限')
  expect(rules[1]).toContain('2/6')
  expect(rules[1]).toContain('每次得1分，每日上限6分')
  expect(rules[2]).toContain('每学习4分钟得1分，每日上限8分')
  expect(page.querySelectorAll('.rule-count.capped')).toHaveLength(1)
  expect(text(page.querySelector('.card-title'))).toBe('今日进度（2026-07-01）')
})

test('the ledger explains each entry, newest first, and loads more at the bottom', async () => {
  const { page, pages } = open()
  await page.instance.onLoad()
  await tick()
  let rows = page.querySelectorAll('.entry-row').map(text)
  expect(rows).toHaveLength(2)
  expect(rows[0]).toContain('积分更正')
  expect(rows[0]).toContain('更正第12号记录；重复计分')
  expect(rows[0]).toContain('-1')
  expect(rows[1]).toContain('视听学习')
  expect(rows[1]).toContain('音视频学习时长 · 2026-07-01 10:15')
  expect(rows[1]).toContain('代学，不计入排行')
  expect(page.querySelectorAll('.entry-points.negative')).toHaveLength(1)

  await page.instance.onReachBottom()
  await tick()
  rows = page.querySelectorAll('.entry-row').map(text)
  expect(rows).toHaveLength(3)
  expect(rows[2]).toContain('每日登录 · 2026-07-01 08:01')
  expect(rows[2]).toContain('+1')
  expect(pages).toEqual([1, 2])
  expect(page.dom.textContent).toContain('没有更多了')
  await page.instance.onReachBottom()
  expect(pages).toEqual([1, 2])
})
