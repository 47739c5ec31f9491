/**
 * @jest-environment jsdom
 */
// pages/meeting-stats rendered by miniprogram-simulate with a scripted server: the tables and the list of
// organisations behind, as the server's figures say.
const config = require('../../config')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/meeting-stats/meeting-stats')

const counts = (required, held, reviewed, flagged, behind) => ({ required, held, reviewed, flagged, behind })

const STATS = {
  org: { id: 10, name: '甲一镇党委' },
  period: '2026Q3',
  as_of: '2026-08-15T10:30:00+08:00',
  kinds: [
    { id: 1, code: 'branch_general', name: '支部党员大会', cadence: 'quarter' },
    { id: 2, code: 'branch_committee', name: '支部委员会会议', cadence: 'month' }
  ],
  rows: [
    {
      org: { id: 10, name: '甲一镇党委', level: 'township', kind: 'committee' },
      self: true,
      kinds: { branch_general: counts(0, 0, 0, 0, 0), branch_committee: counts(0, 0, 0, 0, 0) },
      total: counts(0, 0, 0, 0, 0)
    },
    {
      org: { id: 12, name: '一村党支部', level: 'village', kind: 'branch' },
      self: false,
      kinds: { branch_general: counts(1, 1, 1, 0, 0), branch_committee: counts(3, 2, 1, 1, 1) },
      total: counts(4, 3, 2, 1, 1)
    }
  ],
  subtree: {
    kinds: {
      branch_general: { orgs: 1, ...counts(1, 1, 1, 0, 0) },
      branch_committee: { orgs: 1, ...counts(3, 2, 1, 1, 1) }
    },
    total: counts(4, 3, 2, 1, 1)
  },
  behind: [
    {
      org: { id: 12, name: '一村党支部', parent_name: '甲一镇党委' },
      missing: [{ kind: 'branch_committee', name: '支部委员会会议', period: '2026-07', required: 1, held: 0 }]
    }
  ],
  behind_total: 3
}

async function open(query) {
  global.wx = createWx({
    request: (options) => {
      if (options.url === BASE + '/api/stats/meetings') return { statusCode: 200, data: STATS }
      throw new Error('unexpected ' + options.url)
    }
  })
  config.apiBase = BASE
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad(query)
  await new Promise((resolve) => setTimeout(resolve, 0))
  return page
}

// The rows of the n-th table, each as its cells' texts.
function table(page, n) {
  const el = page.querySelectorAll('.table')[n].dom
  return Array.from(el.querySelectorAll('.main--tr')).map((row) =>
    Array.from(row.querySelectorAll('.main--td')).map((cell) => cell.textContent.trim())
  )
}

test('per kind and per organisation, the server\'s figures; the period named in Chinese', async () => {
  const page = await open({ org_id: '10' })
  expect(text(page.querySelector('.period-type.active'))).toBe('季度')
  expect(text(page.querySelector('.period-value'))).toBe('2026年第三季度 ▾')
  expect(table(page, 0)).toEqual([
    ['类型', '应开', '已开', '已审', '存疑', '未按期'],
    ['支部党员大会', '1', '1', '1', '0', '0'],
    ['支部委员会会议', '3', '2', '1', '1', '1'],
    ['合计', '4', '3', '2', '1', '1']
  ])
  expect(table(page, 1).slice(1)).toEqual([
    ['甲一镇党委（本级）', '0', '0', '0', '0', '0'],
    ['一村党支部 ›', '4', '3', '2', '1', '1']
  ])
  expect(text(page.querySelector('.note'))).toContain('2026-08-15 10:30')
})

test('the organisation table follows the kind picked', async () => {
  const page = await open({ org_id: '10' })
  page.instance.onKindChange({ detail: { value: 1 } })
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(table(page, 1)[2]).toEqual(['一村党支部 ›', '1', '1', '1', '0', '0'])
  expect(text(page.querySelector('.kind-filter'))).toBe('支部党员大会 ▾')
})

test('who is behind, with what they missed, and a note when the list is cut', async () => {
  const page = await open({ org_id: '10' })
  const behind = page.querySelectorAll('.behind-item').map(text)
  expect(behind).toHaveLength(1)
  expect(behind[0]).toContain('一村党支部 · 甲一镇党委')
  expect(behind[0]).toContain('支部委员会会议（2026年7月）应开1次，已开0次')
  expect(page.dom.textContent).toContain('未按期召开（3）')
  expect(page.dom.textContent).toContain('仅列出前 1 个组织')
})

test('a child row goes one level down, for the same period', async () => {
  const page = await open({ org_id: '10' })
  page.querySelectorAll('.child')[0].dispatchEvent('tap')
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(wx.__lastNavigation()).toEqual({
    type: 'navigateTo',
    url: '/pages/meeting-stats/meeting-stats?org_id=12&period=2026Q3'
  })
})
