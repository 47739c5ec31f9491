/**
 * @jest-environment jsdom
 */
// pages/duty/history rendered against a scripted server: a month of my check-ins with result, distance, timing
// and flags, the month's summary, and another month picked.
const config = require('../../config')
const session = require('../../utils/session')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/duty/history')

const row = (id, extra) =>
  Object.assign(
    {
      id,
      client_id: `d-${id}-abcdefgh`,
      org_id: 14,
      member: { id: 21, name: '驻村干部' },
      kind: 'checkin',
      read_at: '2026-07-08T08:31:00+08:00',
      duty_date: '2026-07-08',
      result: 'inside',
      result_label: '在范围内',
      distance_m: 0,
      timing: 'on_time',
      timing_label: '正常',
      flags: [],
      flag_labels: {},
      flag_reasons: {},
      remark: null
    },
    extra
  )

let gets

function install() {
  gets = []
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      gets.push({ url, data: options.data })
      if (url === '/api/duty/checkins') {
        const items =
          options.data.from === '2026-07-01'
            ? [
                row(2, {
                  kind: 'checkout',
                  read_at: '2026-07-09T17:45:00+08:00',
                  duty_date: '2026-07-09',
                  result: 'outside',
                  result_label: '不在范围内',
                  distance_m: 1520,
                  timing: 'early',
                  timing_label: '早到/早退',
                  flags: ['late_upload'],
                  flag_labels: { late_upload: '延迟上传' },
                  flag_reasons: { late_upload: '读取位置后45分钟才上传' },
                  remark: '县里开会'
                }),
                row(1)
              ]
            : []
        return { statusCode: 200, data: { items, meta: { total: items.length, page: 1, per_page: 20 } } }
      }
      if (url === '/api/duty/summary') {
        return {
          statusCode: 200,
          data: {
            items: [
              {
                member: { id: 21, name: '驻村干部' },
                checkins: 2,
                flagged: 1,
                results: { inside: 1, outside: 1, uncertain: 0 },
                timing: { on_time: 1, early: 1, late: 0, off_roster: 0 },
                flags: { late_upload: 1, reused_photo: 0 }
              }
            ]
          }
        }
      }
      if (url === '/api/duty/assignments') {
        return {
          statusCode: 200,
          data: { items: [{ id: 1, org: { id: 14, name: '三村党支部' } }], meta: { total: 1, page: 1, per_page: 100 } }
        }
      }
      throw new Error(`unexpected ${options.method} ${url}`)
    }
  })
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 21, name: '驻村干部' } })
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

test('a month of my check-ins: result, distance, timing, flags, remark and the summary', async () => {
  install()
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad({ month: '2026-07' })
  await settle()
  const list = gets.find((g) => g.url === '/api/duty/checkins')
  expect(list.data).toMatchObject({ from: '2026-07-01', to: '2026-07-31', member_id: 21, page: 1 })
  expect(text(page.querySelector('.month'))).toContain('2026年7月')
  expect(texts(page, '.checkin-date')).toEqual(['07-09 17:45', '07-08 08:31'])
  expect(texts(page, '.checkin-kind')).toEqual(['签退', '签到'])
  expect(texts(page, '.checkin .result')).toEqual(['不在范围内', '在范围内'])
  expect(texts(page, '.distance')).toEqual(['相距 1.5 公里'])
  expect(texts(page, '.timing')).toEqual(['早到/早退', '正常'])
  const first = page.querySelectorAll('.checkin')[0].dom.textContent
  expect(first).toContain('三村党支部')
  expect(first).toContain('说明：县里开会')
  expect(first).toContain('延迟上传：读取位置后45分钟才上传')
  expect(text(page.querySelector('.summary-total'))).toBe('共 2 次，异常 1 次')
  expect(page.querySelector('.summary').dom.textContent).toContain('不在范围内 1')
  expect(texts(page, '.count-flag')).toEqual(['延迟上传 1'])
})

test('another month is loaded afresh; an empty month says so', async () => {
  install()
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad({ month: '2026-07' })
  await settle()
  await page.instance.onMonthChange({ detail: { value: '2026-06' } })
  await settle()
  const last = gets.filter((g) => g.url === '/api/duty/checkins').pop()
  expect(last.data).toMatchObject({ from: '2026-06-01', to: '2026-06-30' })
  expect(page.querySelectorAll('.checkin')).toHaveLength(0)
  expect(text(page.querySelector('.empty'))).toBe('本月没有签到记录')
})

test('a department opens one cadre\'s month from the board', async () => {
  install()
  const page = renderPage(PAGE_ID)
  await page.instance.onLoad({ member_id: '21', org_id: '14', name: '驻村干部', month: '2026-07' })
  await settle()
  const list = gets.find((g) => g.url === '/api/duty/checkins')
  expect(list.data).toMatchObject({ member_id: 21, org_id: 14 })
  expect(wx.calls.titles).toEqual(['驻村干部的签到记录'])
})
