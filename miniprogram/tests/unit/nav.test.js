// utils/nav and utils/format.
const nav = require('../../utils/nav')
const { formatDateTime, breadcrumbText } = require('../../utils/format')
const { createWx } = require('../support/fake-wx')

beforeEach(() => {
  global.wx = createWx()
})

test('a tab page opens with switchTab, others with navigateTo', () => {
  nav.openPage('/pages/me/me')
  nav.openPage('/pages/members/members?org_id=3')
  expect(wx.calls.navigations).toEqual([
    { type: 'switchTab', url: '/pages/me/me' },
    { type: 'navigateTo', url: '/pages/members/members?org_id=3' }
  ])
})

test('a page this build lacks says it is coming instead of failing silently', () => {
  const navigateTo = wx.navigateTo
  wx.navigateTo = (options) => options.fail({ errMsg: 'navigateTo:fail page not found' })
  try {
    nav.openPage('/pages/checkin/checkin')
  } finally {
    wx.navigateTo = navigateTo
  }
  expect(wx.calls.toasts).toEqual(['该功能即将上线'])
})

test('no page, no navigation', () => {
  nav.openPage(null)
  expect(wx.calls.navigations).toEqual([])
})

test('times from the server are shown as they were sent, without parsing', () => {
  expect(formatDateTime('2026-03-31T23:59:00+08:00')).toBe('2026-03-31 23:59')
  expect(formatDateTime('2026-04-01T00:00:00')).toBe('2026-04-01')
  expect(formatDateTime('2026-04-01')).toBe('2026-04-01')
  expect(formatDateTime(null)).toBe('')
  expect(breadcrumbText([{ id: 1, name: '市委' }, { id: 2, name: '城关镇党委' }])).toBe('市委 / 城关镇党委')
  expect(breadcrumbText(undefined)).toBe('')
})
