// An organisation: its details and, page by page, the organisations under it. The server decides whether the
// member may see it (out of scope reads as not found).
const request = require('../../utils/request')
const { loadNext } = require('../../utils/pager')

Page({
  data: {
    orgId: null,
    org: null,
    failed: false,
    children: [],
    childrenMeta: {}
  },

  async onLoad(options) {
    const orgId = Number(options.id)
    this.setData({ orgId })
    await Promise.all([this.loadOrg(), this.loadChildren(true)])
  },

  async loadOrg() {
    try {
      const org = await request.get(`/api/orgs/${this.data.orgId}`)
      this.setData({ org })
      wx.setNavigationBarTitle({ title: org.name })
    } catch (err) {
      this.setData({ failed: true })
    }
  },

  loadChildren(reset) {
    return loadNext(this, 'children', `/api/orgs/${this.data.orgId}/children`, {}, reset === true)
  },

  async onPullDownRefresh() {
    await Promise.all([this.loadOrg(), this.loadChildren(true)])
    wx.stopPullDownRefresh()
  },

  onReachBottom() {
    return this.loadChildren(false)
  },

  onChildTap(e) {
    wx.navigateTo({ url: `/pages/org/org?id=${e.currentTarget.dataset.id}` })
  },

  onMembersTap() {
    wx.navigateTo({ url: `/pages/members/members?org_id=${this.data.orgId}` })
  }
})
