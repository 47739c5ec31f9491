// Check-ins of one month, newest first, with the server's verdict on each (result, distance, timing, signals) and
// the month's summary. Mine by default; a department opens it from the board for one cadre
// (?member_id=&org_id=&name=), and the server decides whether it may.
const request = require('../../utils/request')
const session = require('../../utils/session')
const { loadNext } = require('../../utils/pager')
const { businessNow, periodLabel } = require('../../utils/format')
const labels = require('../../utils/duty-labels')

const QUIET = { showError: false }

function summaryView(item) {
  if (!item) return null
  return {
    checkins: item.checkins,
    flagged: item.flagged,
    results: [
      { key: 'inside', label: labels.RESULT_LABELS.inside, value: item.results.inside },
      { key: 'outside', label: labels.RESULT_LABELS.outside, value: item.results.outside },
      { key: 'uncertain', label: labels.RESULT_LABELS.uncertain, value: item.results.uncertain }
    ],
    timing: Object.keys(labels.TIMING_LABELS).map((key) => ({
      key,
      label: labels.TIMING_LABELS[key],
      value: item.timing[key] || 0
    })),
    flags: Object.keys(item.flags || {})
      .filter((flag) => item.flags[flag])
      .map((flag) => ({ flag, label: labels.flagLabel(flag), value: item.flags[flag] }))
  }
}

Page({
  data: {
    month: '',
    monthText: '',
    memberId: null,
    orgId: null,
    name: '',
    checkins: [],
    checkinsMeta: {},
    rows: [],
    orgNames: {},
    summary: null
  },

  async onLoad(options) {
    const query = options || {}
    const me = session.getMember() || {}
    const month = query.month || businessNow().date.slice(0, 7)
    this.setData({
      month,
      monthText: periodLabel(month),
      memberId: query.member_id ? Number(query.member_id) : me.id || null,
      orgId: query.org_id ? Number(query.org_id) : null,
      name: query.name || ''
    })
    if (query.name) wx.setNavigationBarTitle({ title: `${query.name}的签到记录` })
    await Promise.all([this.loadOrgNames(), this.reload()])
  },

  params() {
    const range = labels.monthRange(this.data.month)
    const params = { from: range.from, to: range.to }
    if (this.data.memberId) params.member_id = this.data.memberId
    if (this.data.orgId) params.org_id = this.data.orgId
    return params
  },

  // Village names for the rows (check-ins name the village by id): the cadre's assignments.
  async loadOrgNames() {
    try {
      const params = { per_page: 100 }
      if (this.data.memberId) params.member_id = this.data.memberId
      if (this.data.orgId) params.org_id = this.data.orgId
      const res = await request.get('/api/duty/assignments', params, QUIET)
      const orgNames = {}
      res.items.forEach((a) => {
        orgNames[a.org.id] = a.org.name
      })
      this.setData({ orgNames })
      this.showRows()
    } catch (err) {
      // Rows without village names still say everything else.
    }
  },

  async reload() {
    await Promise.all([this.loadPage(true), this.loadSummary()])
  },

  async loadPage(reset) {
    await loadNext(this, 'checkins', '/api/duty/checkins', this.params(), reset)
    this.showRows()
  },

  async loadSummary() {
    try {
      const res = await request.get('/api/duty/summary', this.params(), QUIET)
      const mine = res.items.find((item) => item.member.id === this.data.memberId) || res.items[0]
      this.setData({ summary: summaryView(mine) })
    } catch (err) {
      this.setData({ summary: null })
    }
  },

  showRows() {
    const names = this.data.orgNames
    const rows = this.data.checkins.map((c) =>
      Object.assign(labels.checkinView(c), { orgName: names[c.org_id] || '', dateText: (c.duty_date || '').slice(5) })
    )
    this.setData({ rows })
  },

  async onMonthChange(e) {
    const month = e.detail.value.slice(0, 7)
    this.setData({ month, monthText: periodLabel(month) })
    await this.reload()
  },

  onReachBottom() {
    return this.loadPage(false)
  },

  async onPullDownRefresh() {
    await this.reload()
    wx.stopPullDownRefresh()
  }
})
