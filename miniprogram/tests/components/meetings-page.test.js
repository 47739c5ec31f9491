/**
 * @jest-environment jsdom
 */
// pages/meetings rendered by miniprogram-simulate with a scripted server: the branch's list and the department's
// review queue (待审核) with its flag filter.
const config = require('../../config')
const session = require('../../utils/session')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts, textsIn } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/meetings/meetings')

function meeting(id, extra) {
  return Object.assign(
    {
      id,
      org_id: 12,
      org_name: '一村党支部',
      kind: { id: 2, code: 'branch_committee', name: '支部委员会会议', cadence: 'month' },
      title: `会议${id}`,
      starts_at: '2026-07-08T09:00:00+08:00',
      ends_at: '2026-07-08T10:00:00+08:00',
      status: 'submitted',
      status_label: '待审核',
      late_entry: false,
      flagged: false,
      attendance: { expected: 5, present: 4, absent: 1, proxy: 0 },
      photo_count: 2
    },
    extra
  )
}

let listQueries

function install(role, items) {
  listQueries = []
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (url === '/api/meeting-kinds') {
        return { statusCode: 200, data: { items: [{ code: 'branch_committee', name: '支部委员会会议' }] } }
      }
      if (url === '/api/orgs/10') return { statusCode: 200, data: { id: 10, name: '甲一镇党委' } }
      if (url === '/api/orgs/10/children') {
        return { statusCode: 200, data: { items: [{ id: 12, name: '一村党支部' }], meta: { total: 1 } } }
      }
      if (url === '/api/meetings') {
        listQueries.push(options.data)
        const shown = options.data.flag ? items.filter((m) => m.flagged) : items
        return { statusCode: 200, data: { items: shown, meta: { total: shown.length, page: 1, per_page: 20 } } }
      }
      throw new Error('unexpected ' + url)
    }
  })
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 5, role } })
}

async function open(query) {
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad(query)
  await new Promise((resolve) => setTimeout(resolve, 0))
  return page
}

test('the review queue: 待审核, organisation and flag filters, no status filter, flagged meetings marked', async () => {
  install('dept_admin', [meeting(1, { flagged: true, late_entry: true, org_name: '二村党支部' }), meeting(2)])
  const page = await open({ org_id: '10', descendants: '1', status: 'submitted' })
  expect(wx.calls.titles).toEqual(['待审核'])
  expect(listQueries[0]).toEqual({ org_id: 10, descendants: 1, status: 'submitted', page: 1, per_page: 20 })
  const filters = texts(page, '.filter')
  expect(filters).toEqual(['甲一镇党委 ▾', '全部类型 ▾', '全部照片 ▾'])
  expect(page.querySelector('.switch-filter')).toBeUndefined()
  expect(text(page.querySelector('.toolbar .muted'))).toBe('待审核 2 次会议')
  expect(page.querySelector('.toolbar .btn-primary')).toBeUndefined()

  const rows = page.querySelectorAll('.meeting')
  expect(texts(page, '.meeting-title')).toEqual(['会议1', '会议2'])
  expect(text(rows[0])).toContain('二村党支部')
  expect(text(rows[0])).toContain('出席 4/5')
  expect(textsIn(rows[0], 'badge')).toEqual(['补录', '存疑'])
  expect(textsIn(rows[1], 'badge')).toEqual([])

  // Filtering by a flag asks the server.
  await page.instance.onFlagChange({ detail: { value: 1 } })
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(listQueries.pop()).toMatchObject({ status: 'submitted', flag: 'outside_venue' })
  expect(page.querySelectorAll('.meeting')).toHaveLength(1)
  expect(text(page.querySelectorAll('.filter')[2])).toBe('不在会场范围 ▾')
})

test('a secretary\'s list: status filter, 新建会议, no organisation filter; empty says so in Chinese', async () => {
  install('secretary', [])
  const page = await open({ org_id: '12' })
  expect(wx.calls.titles).toEqual(['组织生活'])
  expect(texts(page, '.filter')).toEqual(['全部类型 ▾', '全部状态 ▾'])
  expect(text(page.querySelector('.toolbar .btn-primary'))).toBe('新建会议')
  expect(text(page.querySelector('.empty'))).toBe('暂无会议记录')
  page.querySelector('.toolbar .btn-primary').dispatchEvent('tap')
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/meeting-create/meeting-create?org_id=12' })
})
