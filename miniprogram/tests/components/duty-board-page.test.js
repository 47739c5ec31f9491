/**
 * @jest-environment jsdom
 */
// pages/duty/board rendered against a scripted server: a county's townships and branch each with their counts from
// the one board request, drilling down, the cadres of a village page by page, a tapped total listing the cadres with
// that status across the subtree, the date picker, and the month report downloaded as .xlsx with the token.
const config = require('../../config')
const session = require('../../utils/session')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/duty/board')
const ZERO = { rostered: 0, present: 0, late: 0, absent: 0, unconfirmed: 0, on_leave: 0, outside: 0, flagged: 0 }
const counts = (extra) => Object.assign({}, ZERO, extra)

const cadre = (id, name, orgId, extra) =>
  Object.assign(
    {
      member: { id, name },
      org_id: orgId,
      org: { id: orgId, name: orgId === 14 ? '三村党支部' : '一村党支部' },
      rostered: true,
      present: false,
      late: false,
      absent: false,
      unconfirmed: false,
      on_leave: false,
      outside: false,
      flagged: false,
      checkins: 0,
      outside_count: 0,
      flagged_count: 0
    },
    extra
  )

// County 3 → townships 5 (甲一镇) and 6 (甲二镇) and an agency branch 4 (nobody assigned); 甲二镇 → village 14 (三村).
const child = (id, name, kind, n, extra) => ({ org: { id, name, kind }, cadres: n, ...counts(extra) })
const BOARDS = {
  3: {
    org: { id: 3, name: '甲县委' },
    totals: counts({ rostered: 3, present: 1, absent: 1, unconfirmed: 1, outside: 1, flagged: 1 }),
    cadres: 3,
    children: [
      child(5, '甲一镇党委', 'committee', 1, { rostered: 1, absent: 1 }),
      child(6, '甲二镇党委', 'committee', 2, { rostered: 2, present: 1, unconfirmed: 1, outside: 1, flagged: 1 })
    ]
  },
  14: {
    org: { id: 14, name: '三村党支部' },
    totals: counts({ rostered: 2, present: 1, unconfirmed: 1, outside: 1, flagged: 1 }),
    cadres: 2,
    children: []
  }
}
const CADRES = {
  3: [cadre(11, '缺勤干部', 12, { absent: true })],
  14: [
    cadre(21, '驻村干部', 14, { present: true, late: true, checkins: 2 }),
    cadre(22, '第一书记', 14, { unconfirmed: true, outside: true, flagged: true, checkins: 1, outside_count: 1, flagged_count: 1 })
  ]
}
const CHILDREN = {
  3: [
    { id: 4, name: '甲县委组织部机关党支部', kind: 'branch', level: 'county' },
    { id: 5, name: '甲一镇党委', kind: 'committee', level: 'township' },
    { id: 6, name: '甲二镇党委', kind: 'committee', level: 'township' }
  ],
  14: []
}

let gets
let downloadAnswer

function install() {
  gets = []
  downloadAnswer = { statusCode: 200, body: Buffer.from('PK-xlsx') }
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      gets.push({ url, data: options.data })
      if (url === '/api/duty/board') {
        const board = BOARDS[options.data.org_id]
        if (!board) return { statusCode: 404, data: { error: { code: 'not_found', message: '组织不存在' } } }
        return { statusCode: 200, data: Object.assign({ date: options.data.date }, board) }
      }
      if (url === '/api/duty/board/cadres') {
        const { org_id: orgId, status, page, per_page: perPage } = options.data
        const rows = (CADRES[orgId] || []).filter((c) => !status || c[status])
        const items = rows.slice((page - 1) * perPage, page * perPage)
        return { statusCode: 200, data: { items, meta: { total: rows.length, page, per_page: perPage } } }
      }
      const m = /^\/api\/orgs\/(\d+)\/children$/.exec(url)
      if (m) {
        const items = CHILDREN[m[1]] || []
        return { statusCode: 200, data: { items, meta: { total: items.length, page: 1, per_page: 100 } } }
      }
      throw new Error(`unexpected ${options.method} ${url}`)
    },
    downloadFile: () => downloadAnswer
  })
  config.apiBase = BASE
  session.saveTokens({ access_token: 'tok', refresh_token: 'r', member: { id: 5, name: '甲县组织部', role: 'dept_admin' } })
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

async function open(query) {
  install()
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad(query)
  await settle()
  return page
}

test('a county: totals, and each township and branch with its counts', async () => {
  const page = await open({ org_id: '3', date: '2026-07-08' })
  expect(wx.calls.titles).toEqual(['甲县委'])
  expect(text(page.querySelector('.date'))).toContain('2026-07-08')
  expect(texts(page, '.cell-value')).toEqual(['3', '1', '0', '1', '1', '0', '1', '1'])
  expect(texts(page, '.cell-label')).toEqual(['应到', '在岗', '迟到', '缺勤', '未确认', '请假出差', '范围外', '异常'])
  expect(texts(page, '.child-name')).toEqual(['甲县委组织部机关党支部', '甲一镇党委', '甲二镇党委'])
  const rows = page.querySelectorAll('.child').map(text)
  expect(rows[0]).toContain('在岗 0/0')
  expect(rows[1]).toContain('在岗 0/1')
  expect(rows[1]).toContain('缺勤 1')
  expect(rows[2]).toContain('在岗 1/2')
  expect(rows[2]).toContain('异常 1')
  // Every child's counts come from the one board request.
  const boards = gets.filter((g) => g.url === '/api/duty/board').map((g) => [g.data.org_id, g.data.date])
  expect(boards).toEqual([[3, '2026-07-08']])
  // Three cadres fit on one page: listed at once, each with their village.
  expect(texts(page, '.cadre-name')).toEqual(['缺勤干部'])
  expect(texts(page, '.cadre-org')).toEqual(['一村党支部'])
  expect(page.querySelector('.open-fences')).toBeUndefined()
})

test('tapping a township drills down on the same date; a village lists its cadres, each opening their record', async () => {
  let page = await open({ org_id: '3', date: '2026-07-08' })
  page.querySelectorAll('.child')[2].dispatchEvent('tap')
  await settle()
  expect(wx.__lastNavigation().url).toBe('/pages/duty/board?org_id=6&date=2026-07-08')

  page = await open({ org_id: '14', date: '2026-07-08' })
  expect(texts(page, '.cadre-name')).toEqual(['驻村干部', '第一书记'])
  const cadres = page.querySelectorAll('.cadre').map(text)
  expect(cadres[0]).toContain('在岗')
  expect(cadres[0]).toContain('迟到')
  expect(cadres[0]).toContain('签到 2 次')
  expect(cadres[1]).toContain('未确认')
  expect(cadres[1]).toContain('范围外')
  expect(cadres[1]).toContain('签到 1 次，范围外 1 次，异常 1 次')
  expect(texts(page, '.open-fences')).toEqual(['签到范围'])
  page.querySelectorAll('.cadre')[1].dispatchEvent('tap')
  await settle()
  expect(wx.__lastNavigation().url).toBe(
    `/pages/duty/history?member_id=22&org_id=14&name=${encodeURIComponent('第一书记')}&month=2026-07`
  )
})

test('another date reloads the board and its children', async () => {
  const page = await open({ org_id: '3', date: '2026-07-08' })
  await page.instance.onDateChange({ detail: { value: '2026-07-01' } })
  await settle()
  const dates = gets.filter((g) => g.url === '/api/duty/board').map((g) => g.data.date)
  expect(dates).toEqual(['2026-07-08', '2026-07-01'])
})

test('tapping a total lists the cadres with that status across the subtree; tapping it again clears it', async () => {
  const page = await open({ org_id: '14', date: '2026-07-08' })
  const cells = page.querySelectorAll('.cell')
  cells[6].dispatchEvent('tap') // 范围外
  await settle()
  expect(texts(page, '.cadre-name')).toEqual(['第一书记'])
  expect(text(page.querySelector('.card-title'))).toContain('范围外的干部（1人）')
  const asked = gets.filter((g) => g.url === '/api/duty/board/cadres').map((g) => g.data.status)
  expect(asked).toEqual([undefined, 'outside'])
  page.querySelectorAll('.cell')[6].dispatchEvent('tap')
  await settle()
  expect(texts(page, '.cadre-name')).toEqual(['驻村干部', '第一书记'])
  page.querySelectorAll('.cell')[2].dispatchEvent('tap') // 迟到
  await settle()
  expect(texts(page, '.cadre-name')).toEqual(['驻村干部'])
})

test('out of scope: the board says so', async () => {
  const page = await open({ org_id: '99' })
  expect(text(page.querySelector('.empty'))).toContain('无法查看该组织的在岗情况')
})

test('the month report downloads as .xlsx with the token and opens in the document viewer', async () => {
  const page = await open({ org_id: '3', date: '2026-07-08' })
  page.instance.onMonthChange({ detail: { value: '2026-06' } })
  await page.instance.onExport()
  expect(wx.calls.downloads).toEqual([
    { url: `${BASE}/api/duty/report?org_id=3&month=2026-06&format=xlsx`, header: { Authorization: 'Bearer tok' } }
  ])
  expect(wx.calls.documents).toHaveLength(1)
  expect(wx.calls.documents[0]).toMatchObject({ fileType: 'xlsx', showMenu: true })
  expect(wx.files.get(wx.calls.documents[0].filePath).toString()).toBe('PK-xlsx')

  downloadAnswer = { statusCode: 404, body: Buffer.from('{}') }
  await page.instance.onExport()
  expect(wx.__lastToast()).toBe('无权导出该组织的月报')
  expect(wx.calls.documents).toHaveLength(1)
})
