// My points: the total, today's, today's progress against each rule's daily cap, and the ledger that explains
// every point (rule, where it came from, the day; proxy study and corrections marked), newest first, page by page.
const request = require('../../utils/request')
const pager = require('../../utils/pager')
const labels = require('../../utils/learning-labels')

const LEDGER_URL = '/api/learning/points/me/ledger'

function ruleRow(rule) {
  return Object.assign(
    { code: rule.code, name: rule.name, ruleText: labels.ruleText(rule), earned: rule.earned_today || 0 },
    labels.ruleProgress(rule)
  )
}

Page({
  data: {
    loading: true,
    failed: false,
    total: 0,
    today: 0,
    day: '',
    rules: [],
    entries: [],
    entriesMeta: {},
    rows: []
  },

  onLoad() {
    return this.load()
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  },

  async load() {
    this.setData({ failed: false })
    try {
      const summary = await request.get('/api/learning/points/me')
      this.setData({
        loading: false,
        total: summary.total,
        today: summary.today,
        day: summary.day,
        rules: summary.rules.map(ruleRow)
      })
    } catch (err) {
      this.setData({ loading: false, failed: true })
      return
    }
    await this.loadLedger(true)
  },

  async loadLedger(reset) {
    await pager.loadNext(this, 'entries', LEDGER_URL, {}, reset)
    this.setData({ rows: this.data.entries.map(labels.ledgerRow) })
  },

  onReachBottom() {
    return this.loadLedger(false)
  }
})
