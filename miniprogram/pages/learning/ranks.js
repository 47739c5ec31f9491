// Leaderboards (GET /api/learning/leaderboard): for the member's branch its members, and for each organisation
// above it (township, county, city) its direct children — each with its whole subtree — for a day, week or month.
// The levels offered are the member's own chain of organisations (/api/me breadcrumb); `?org_id=` opens another
// organisation (a row of a board of organisations opens that organisation's own board). What may be seen is the
// server's decision: a board it refuses says so instead of a list.
const request = require('../../utils/request')
const labels = require('../../utils/learning-labels')

const KIND_TITLES = { members: '党员排名', orgs: '下级组织排名' }

Page({
  data: {
    loading: true,
    failed: false,
    refusal: '',
    scopes: [],
    orgId: null,
    periods: labels.PERIODS,
    period: 'day',
    date: '',
    board: null,
    items: []
  },

  async onLoad(options) {
    const query = options || {}
    this.myId = null
    this.myOrgIds = []
    this.setData({ period: query.period || 'day', orgId: query.org_id ? Number(query.org_id) : null })
    try {
      const me = await request.get('/api/me')
      this.myId = me.member.id
      const chain = (me.org && me.org.breadcrumb) || []
      this.myOrgIds = chain.map((node) => node.id)
      // Nearest first: my branch, then each organisation above it.
      const scopes = chain
        .slice()
        .reverse()
        .map((node, i) => ({ id: node.id, name: i === 0 ? `本支部（${node.name}）` : node.name }))
      this.setData({ scopes, orgId: this.data.orgId || (scopes[0] && scopes[0].id) || null })
    } catch (err) {
      this.setData({ loading: false, failed: true })
      return
    }
    await this.load()
  },

  async load() {
    const params = { period: this.data.period }
    if (this.data.orgId) params.org_id = this.data.orgId
    if (this.data.date) params.date = this.data.date
    this.setData({ refusal: '', failed: false })
    try {
      const board = await request.get('/api/learning/leaderboard', params, { showError: false })
      const mine = (item) => (board.kind === 'members' ? item.id === this.myId : this.myOrgIds.includes(item.id))
      this.setData({
        loading: false,
        board: {
          orgName: board.org.name,
          kind: board.kind,
          title: KIND_TITLES[board.kind] || '',
          periodLabel: board.period_label,
          range: board.from === board.to ? board.from : `${board.from} 至 ${board.to}`
        },
        items: board.items.map((item) => ({
          id: item.id,
          rank: item.rank,
          name: item.name,
          points: item.points,
          mine: mine(item),
          top: item.rank <= 3
        }))
      })
    } catch (err) {
      const refusal = err.status === 404 ? '暂无权限查看该范围的排行' : err.message || '排行加载失败'
      this.setData({ loading: false, board: null, items: [], refusal })
    }
  },

  onScopeTap(e) {
    const id = Number(e.currentTarget.dataset.id)
    if (id === this.data.orgId) return undefined
    this.setData({ orgId: id })
    return this.load()
  },

  onPeriodTap(e) {
    const period = e.currentTarget.dataset.period
    if (period === this.data.period) return undefined
    this.setData({ period })
    return this.load()
  },

  onDateChange(e) {
    this.setData({ date: e.detail.value })
    return this.load()
  },

  // A row of a board of organisations: that organisation's own board, same period.
  onRowTap(e) {
    if (!this.data.board || this.data.board.kind !== 'orgs') return
    const id = e.currentTarget.dataset.id
    wx.navigateTo({ url: `/pages/learning/ranks?org_id=${id}&period=${this.data.period}` })
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  }
})
