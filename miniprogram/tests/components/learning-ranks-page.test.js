/**
 * @jest-environment jsdom
 */
// pages/learning/ranks rendered by miniprogram-simulate against a scripted server: the member's chain of
// organisations as levels, day/week/month, the member's own row marked, a board of organisations going one level
// down, and a board the server refuses shown as such.
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')
const { scriptedWx, refusal, tick } = require('../support/learning')

const PAGE_ID = loadPage('pages/learning/ranks')

const ME = {
  member: { id: 501, name: '二村党员' },
  org: {
    id: 40,
    name: '二村党支部',
    breadcrumb: [
      { id: 1, name: '测试市委' },
      { id: 10, name: '甲县委' },
      { id: 20, name: '甲一镇党委' },
      { id: 40, name: '二村党支部' }
    ]
  }
}

function board(orgId, period) {
  if (orgId === 1) return refusal(404, 'not_found', '组织不存在')
  if (orgId === 40) {
    return {
      org: { id: 40, name: '二村党支部' },
      kind: 'members',
      period,
      period_label: { day: '日榜', week: '周榜', month: '月榜' }[period],
      from: period === 'day' ? '2026-07-01' : '2026-06-29',
      to: period === 'day' ? '2026-07-01' : '2026-07-05',
      items: [
        { rank: 1, id: 502, name: '二村书记', points: 9 },
        { rank: 2, id: 501, name: '二村党员', points: 5 },
        { rank: 2, id: 503, name: '另一党员', points: 5 },
        { rank: 4, id: 504, name: '新党员', points: 0 }
      ]
    }
  }
  return {
    org: { id: 20, name: '甲一镇党委' },
    kind: 'orgs',
    period,
    period_label: '日榜',
    from: '2026-07-01',
    to: '2026-07-01',
    items: [
      { rank: 1, id: 30, name: '一村党支部', points: 20 },
      { rank: 2, id: 40, name: '二村党支部', points: 14 }
    ]
  }
}

function open() {
  const queries = []
  scriptedWx({
    'GET /api/me': ME,
    'GET /api/learning/leaderboard': (options) => {
      queries.push(options.data)
      return board(options.data.org_id, options.data.period)
    }
  })
  const page = renderPage(PAGE_ID)
  return { page, queries }
}

test('my branch first: its members ranked, ties sharing a rank, my row marked', async () => {
  const { page, queries } = open()
  await page.instance.onLoad({})
  await tick()
  expect(texts(page, '.scope')).toEqual(['本支部（二村党支部）', '甲一镇党委', '甲县委', '测试市委'])
  expect(queries).toEqual([{ period: 'day', org_id: 40 }])
  expect(text(page.querySelector('.card-title'))).toBe('二村党支部 · 党员排名')
  expect(text(page.querySelector('.range'))).toBe('日榜 2026-07-01（代学积分不计入）')
  const rows = page.querySelectorAll('.rank-row').map(text)
  expect(rows).toEqual(['1二村书记9分', '2二村党员5分', '2另一党员5分', '4新党员0分'])
  expect(text(page.querySelector('.rank-row.mine'))).toBe('2二村党员5分')
})

test('week and month; the township level ranks its branches, and a branch opens its own board', async () => {
  const { page, queries } = open()
  await page.instance.onLoad({})
  page.querySelectorAll('.period')[1].dispatchEvent('tap')
  await tick()
  expect(queries.pop()).toEqual({ period: 'week', org_id: 40 })
  expect(text(page.querySelector('.range'))).toBe('周榜 2026-06-29 至 2026-07-05（代学积分不计入）')

  page.querySelectorAll('.scope')[1].dispatchEvent('tap')
  await tick()
  expect(queries.pop()).toEqual({ period: 'week', org_id: 20 })
  expect(text(page.querySelector('.card-title'))).toBe('甲一镇党委 · 下级组织排名')
  expect(text(page.querySelector('.rank-row.mine'))).toContain('二村党支部')
  page.querySelectorAll('.rank-row')[0].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/ranks?org_id=30&period=week' })
})

test('a day picked on the calendar is asked for', async () => {
  const { page, queries } = open()
  await page.instance.onLoad({ org_id: '20', period: 'month' })
  expect(queries).toEqual([{ period: 'month', org_id: 20 }])
  await page.instance.onDateChange({ detail: { value: '2026-06-15' } })
  expect(queries.pop()).toEqual({ period: 'month', org_id: 20, date: '2026-06-15' })
})

test('a board the server does not show this member says so, without a toast', async () => {
  const { page } = open()
  await page.instance.onLoad({})
  page.querySelectorAll('.scope')[3].dispatchEvent('tap')
  await tick()
  expect(text(page.querySelector('.refusal'))).toBe('暂无权限查看该范围的排行')
  expect(page.querySelectorAll('.rank-row')).toHaveLength(0)
  expect(wx.calls.toasts).toEqual([])
})
