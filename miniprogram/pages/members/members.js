// A roster: the members of an organisation (with descendants=1, of its whole subtree), searchable and paged.
// Which members come back is the server's decision for the signed-in member's scope.
const { loadNext } = require('../../utils/pager')

Page({
  data: {
    orgId: null,
    descendants: false,
    q: '',
    members: [],
    membersMeta: {}
  },

  onLoad(options) {
    this.setData({ orgId: Number(options.org_id), descendants: options.descendants === '1' })
    wx.setNavigationBarTitle({ title: this.data.descendants ? '党员查询' : '党员名册' })
    return this.loadMembers(true)
  },

  params() {
    const params = { org_id: this.data.orgId }
    if (this.data.descendants) params.descendants = 1
    if (this.data.q.trim()) params.q = this.data.q.trim()
    return params
  },

  loadMembers(reset) {
    return loadNext(this, 'members', '/api/members', this.params(), reset === true)
  },

  onSearchInput(e) {
    this.setData({ q: e.detail.value })
  },

  onSearch() {
    return this.loadMembers(true)
  },

  onClear() {
    this.setData({ q: '' })
    return this.loadMembers(true)
  },

  async onPullDownRefresh() {
    await this.loadMembers(true)
    wx.stopPullDownRefresh()
  },

  onReachBottom() {
    return this.loadMembers(false)
  }
})
