// Home (tab): the member's organisation, what is due and the extra entries of their role, all as /api/home
// describes them. The client adds no rule of its own about who sees what.
const request = require('../../utils/request')
const session = require('../../utils/session')
const nav = require('../../utils/nav')
const uploadQueue = require('../../utils/upload-queue')
const { breadcrumbText } = require('../../utils/format')

Page({
  data: {
    loading: true,
    failed: false,
    member: null,
    org: null,
    breadcrumb: '',
    scopeOrg: null,
    due: [],
    entries: []
  },

  onShow() {
    if (!session.isLoggedIn()) {
      wx.reLaunch({ url: nav.LOGIN_PAGE })
      return
    }
    // Photos taken before a logout or a closed app go as soon as the member is back.
    uploadQueue.flush()
    return this.load()
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  },

  async load() {
    this.setData({ loading: !this.data.member, failed: false })
    try {
      const home = await request.get('/api/home')
      if (home.member.must_change_password) {
        wx.reLaunch({ url: nav.PASSWORD_PAGE + '?forced=1' })
        return
      }
      getApp().setMember(Object.assign({}, session.getMember(), home.member))
      this.setData({
        loading: false,
        member: home.member,
        org: home.org,
        breadcrumb: breadcrumbText(home.org && home.org.breadcrumb),
        scopeOrg: home.scope_org,
        due: home.due || [],
        entries: home.entries || []
      })
    } catch (err) {
      this.setData({ loading: false, failed: true })
    }
  },

  onEntrySelect(e) {
    nav.openPage(e.detail.page)
  },

  onDueSelect(e) {
    nav.openPage(e.detail.page)
  }
})
