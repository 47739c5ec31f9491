// Organisational life statistics for a department: for a month, quarter or year, per meeting kind, how many
// meetings were required, held, reviewed, flagged, and how many organisations are behind — for the organisation
// itself and each organisation directly under it (tap one to go down a level) — and the list of those behind.
// Every figure is the server's (/api/stats/meetings); the page only arranges them.
const request = require('../../utils/request')
const { businessNow, periodLabel, QUARTER_NAMES } = require('../../utils/format')
const { PERIOD_TYPES } = require('../../utils/meeting-labels')

const YEARS_BACK = 5
const TOTAL = { code: '', name: '合计' }
const ZERO = { required: 0, held: 0, reviewed: 0, flagged: 0, behind: 0 }

const pad = (n) => String(n).padStart(2, '0')

function parsePeriod(period) {
  let m = /^(\d{4})-(\d{2})$/.exec(period || '')
  if (m) return { type: 'month', year: Number(m[1]), month: Number(m[2]) }
  m = /^(\d{4})Q([1-4])$/.exec(period || '')
  if (m) return { type: 'quarter', year: Number(m[1]), quarter: Number(m[2]) }
  m = /^(\d{4})$/.exec(period || '')
  return m ? { type: 'year', year: Number(m[1]) } : null
}

function today() {
  const [year, month] = businessNow().date.split('-').map(Number)
  return { year, month, quarter: Math.ceil(month / 3) }
}

// The period of `type` to show when the member switches to it from `current`: the one containing today when
// `current` does, else the first one inside `current`.
function switchPeriod(current, type) {
  const now = today()
  const containsToday =
    current.year === now.year &&
    (current.type === 'year' ||
      (current.type === 'quarter' && current.quarter === now.quarter) ||
      (current.type === 'month' && current.month === now.month))
  const month = containsToday ? now.month : current.month || ((current.quarter || 1) - 1) * 3 + 1
  if (type === 'month') return `${current.year}-${pad(month)}`
  if (type === 'quarter') return `${current.year}Q${Math.ceil(month / 3)}`
  return String(current.year)
}

function yearList() {
  const now = today().year
  const years = []
  for (let year = now - YEARS_BACK; year <= now; year += 1) years.push(year)
  return years
}

function missingText(missing) {
  return `${missing.name}（${periodLabel(missing.period)}）应开${missing.required}次，已开${missing.held}次`
}

Page({
  data: {
    orgId: null,
    loading: true,
    failed: false,
    period: '',
    periodText: '',
    periodTypes: PERIOD_TYPES,
    periodType: 'quarter',
    monthValue: '',
    yearValue: '',
    years: [],
    quarterRange: [[], QUARTER_NAMES],
    quarterValue: [0, 0],
    org: null,
    asOf: '',
    kinds: [TOTAL],
    kindIndex: 0,
    summary: [],
    rows: [],
    behind: [],
    behindTotal: 0
  },

  async onLoad(options) {
    const query = options || {}
    const years = yearList()
    this.stats = null
    this.setData({
      orgId: query.org_id ? Number(query.org_id) : null,
      period: query.period || '',
      years,
      quarterRange: [years.map((year) => `${year}年`), QUARTER_NAMES]
    })
    await this.load()
  },

  async load() {
    const params = {}
    if (this.data.orgId) params.org_id = this.data.orgId
    if (this.data.period) params.period = this.data.period
    this.setData({ loading: !this.stats })
    try {
      const stats = await request.get('/api/stats/meetings', params)
      this.stats = stats
      this.show(stats)
    } catch (err) {
      this.setData({ loading: false, failed: !this.stats })
    }
  },

  show(stats) {
    const parts = parsePeriod(stats.period) || { type: 'quarter', year: today().year, quarter: 1 }
    const kinds = [TOTAL].concat(stats.kinds)
    const kindIndex = Math.min(this.data.kindIndex, kinds.length - 1)
    const subtreeKinds = (stats.subtree && stats.subtree.kinds) || {}
    const summary = stats.kinds
      .map((kind) => Object.assign({ code: kind.code, name: kind.name }, ZERO, subtreeKinds[kind.code]))
      .concat([Object.assign({ code: '', name: '合计' }, ZERO, stats.subtree && stats.subtree.total)])
    this.setData({
      loading: false,
      failed: false,
      org: stats.org,
      period: stats.period,
      periodText: periodLabel(stats.period),
      periodType: parts.type,
      monthValue: parts.type === 'month' ? stats.period : '',
      yearValue: String(parts.year),
      quarterValue: [Math.max(0, this.data.years.indexOf(parts.year)), (parts.quarter || 1) - 1],
      asOf: (stats.as_of || '').slice(0, 16).replace('T', ' '),
      kinds,
      kindIndex,
      summary,
      behind: stats.behind.map((entry) => ({
        orgId: entry.org.id,
        name: entry.org.name,
        parentName: entry.org.parent_name || '',
        missing: entry.missing.map(missingText)
      })),
      behindTotal: stats.behind_total
    })
    this.showRows()
    wx.setNavigationBarTitle({ title: `${stats.org.name} · 组织生活统计` })
  },

  // The organisation rows, with the figures of the kind picked (合计 by default).
  showRows() {
    const kind = this.data.kinds[this.data.kindIndex]
    const rows = this.stats.rows.map((row) => ({
      orgId: row.org.id,
      name: row.org.name,
      self: row.self,
      counts: Object.assign({}, ZERO, kind.code ? row.kinds[kind.code] : row.total)
    }))
    this.setData({ rows })
  },

  changePeriod(period) {
    if (period === this.data.period) return undefined
    this.setData({ period })
    return this.load()
  },

  onPeriodTypeTap(e) {
    const type = e.currentTarget.dataset.type
    if (type === this.data.periodType) return undefined
    const current = parsePeriod(this.data.period) || { type: 'year', year: today().year }
    return this.changePeriod(switchPeriod(current, type))
  },

  onMonthChange(e) {
    return this.changePeriod(e.detail.value)
  },

  onYearChange(e) {
    return this.changePeriod(String(e.detail.value).slice(0, 4))
  },

  onQuarterChange(e) {
    const [yearIndex, quarterIndex] = e.detail.value
    return this.changePeriod(`${this.data.years[yearIndex]}Q${quarterIndex + 1}`)
  },

  onKindChange(e) {
    this.setData({ kindIndex: Number(e.detail.value) })
    this.showRows()
  },

  // A child organisation: the same statistics one level down, same period.
  onRowTap(e) {
    const { orgId, self } = e.currentTarget.dataset
    if (self) return
    wx.navigateTo({ url: `/pages/meeting-stats/meeting-stats?org_id=${orgId}&period=${this.data.period}` })
  },

  onBehindTap(e) {
    wx.navigateTo({ url: `/pages/meetings/meetings?org_id=${e.currentTarget.dataset.orgId}` })
  },

  onMeetingsTap() {
    wx.navigateTo({ url: `/pages/meetings/meetings?org_id=${this.data.org.id}&descendants=1` })
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  }
})
