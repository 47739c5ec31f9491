// "Me" (tab): profile and organisation from /api/me, WeChat binding, password change and logout.
const request = require('../../utils/request')
const { confirm, toast } = require('../../utils/dialog')
const auth = require('../../utils/auth')
const session = require('../../utils/session')
const nav = require('../../utils/nav')
const { breadcrumbText } = require('../../utils/format')

Page({
  data: {
    loading: true,
    member: null,
    org: null,
    breadcrumb: '',
    scopeOrg: null,
    wechatBound: false,
    busy: false
  },

  onShow() {
    if (!session.isLoggedIn()) {
      wx.reLaunch({ url: nav.LOGIN_PAGE })
      return
    }
    return this.load()
  },

  async load() {
    try {
      const me = await request.get('/api/me')
      getApp().setMember(me.member)
      this.setData({
        loading: false,
        member: me.member,
        org: me.org,
        breadcrumb: breadcrumbText(me.org && me.org.breadcrumb),
        scopeOrg: me.scope_org,
        wechatBound: Boolean(me.wechat_bound)
      })
    } catch (err) {
      this.setData({ loading: false })
    }
  },

  async onUnbindWechat() {
    const ok = await confirm('解除微信绑定', '解除后将不能用微信一键登录，确定解除吗？')
    if (!ok) return
    await this.run(async () => {
      await auth.unbindWechat()
      toast('已解除绑定', 'success')
    })
  },

  async onBindWechat() {
    await this.run(async () => {
      const bound = await auth.bindCurrentWechat()
      toast(bound ? '微信绑定成功' : '该微信已绑定其他账号', bound ? 'success' : 'none')
    })
  },

  onChangePassword() {
    wx.navigateTo({ url: nav.PASSWORD_PAGE })
  },

  async onLogout() {
    const ok = await confirm('退出登录', '确定退出当前账号吗？')
    if (ok) await auth.logout()
  },

  // Runs an action that changes the binding, shows its error, then reloads what the server now says.
  async run(action) {
    if (this.data.busy) return
    this.setData({ busy: true })
    try {
      await action()
    } catch (err) {
      toast(err.message)
    } finally {
      this.setData({ busy: false })
    }
    await this.load()
  }
})
