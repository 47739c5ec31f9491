// "Me" (tab): profile and organisation from /api/me, WeChat binding, the official-account link (a bind code the
// member sends to the account as "绑定 123456", with its countdown; unbinding), password change and logout.
const request = require('../../utils/request')
const { confirm, toast } = require('../../utils/dialog')
const auth = require('../../utils/auth')
const session = require('../../utils/session')
const nav = require('../../utils/nav')
const { breadcrumbText } = require('../../utils/format')

const OA_PATH = '/api/me/official-account'

function countdownText(seconds) {
  const pad = (n) => String(n).padStart(2, '0')
  return `${pad(Math.floor(seconds / 60))}:${pad(seconds % 60)}`
}

Page({
  data: {
    loading: true,
    member: null,
    org: null,
    breadcrumb: '',
    scopeOrg: null,
    wechatBound: false,
    busy: false,
    // The official account: null until GET /api/me/official-account answers; oaCode while a bind code is live.
    oaBound: null,
    oaCode: null,
    oaBusy: false,
    unread: 0 // unread notifications in the inbox
  },

  onShow() {
    if (!session.isLoggedIn()) {
      wx.reLaunch({ url: nav.LOGIN_PAGE })
      return
    }
    return Promise.all([this.load(), this.loadOfficialAccount(), this.loadUnread()])
  },

  // The inbox's unread count; a failure leaves the badge as it was (the rest of the page matters more).
  async loadUnread() {
    try {
      const answer = await request.get('/api/inbox/unread-count', null, { showError: false })
      this.setData({ unread: answer.unread || 0 })
    } catch (err) {
      /* keep the badge */
    }
  },

  onOpenInbox() {
    wx.navigateTo({ url: '/pages/inbox/inbox' })
  },

  onHide() {
    this.stopOaTimer()
  },

  onUnload() {
    this.stopOaTimer()
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

  // Whether the official account is linked. Called again on every show: the member binds it by sending the code in
  // the account's chat, then comes back here.
  async loadOfficialAccount() {
    try {
      const status = await request.get(OA_PATH, null, { showError: false })
      if (status.bound) this.clearOaCode()
      this.setData({ oaBound: Boolean(status.bound) })
    } catch (err) {
      this.setData({ oaBound: null })
    }
    if (!this.data.oaBound && this.oaExpiresAt) this.startOaTimer()
  },

  async onGetOaCode() {
    if (this.data.oaBusy) return
    this.setData({ oaBusy: true })
    try {
      const issued = await request.post(`${OA_PATH}/bind-code`, {})
      const minutes = Math.max(1, Math.round(issued.expires_in / 60))
      // The phone's clock may be off: count down from expires_in, not from the server's expires_at.
      this.oaExpiresAt = Date.now() + issued.expires_in * 1000
      this.setData({
        oaCode: {
          code: issued.code,
          instruction: `在公众号内发送：绑定 ${issued.code}（${minutes}分钟内有效）`,
          remainingText: countdownText(issued.expires_in)
        }
      })
      this.startOaTimer()
    } catch (err) {
      // The request has shown the server's message.
    } finally {
      this.setData({ oaBusy: false })
    }
  },

  async onUnbindOa() {
    const ok = await confirm('解除公众号绑定', '解除后将不再通过公众号接收提醒，确定解除吗？')
    if (!ok || this.data.oaBusy) return
    this.setData({ oaBusy: true })
    try {
      await request.del(OA_PATH)
      toast('已解除公众号绑定', 'success')
    } catch (err) {
      // The request has shown the server's message.
    } finally {
      this.setData({ oaBusy: false })
    }
    await this.loadOfficialAccount()
  },

  startOaTimer() {
    this.stopOaTimer()
    this.tickOa()
    if (this.oaExpiresAt) this.oaTimer = setInterval(() => this.tickOa(), 1000)
  },

  stopOaTimer() {
    if (this.oaTimer) clearInterval(this.oaTimer)
    this.oaTimer = null
  },

  tickOa() {
    if (!this.oaExpiresAt || !this.data.oaCode) return
    const left = Math.max(0, Math.ceil((this.oaExpiresAt - Date.now()) / 1000))
    if (left > 0) {
      this.setData({ 'oaCode.remainingText': countdownText(left) })
      return
    }
    this.clearOaCode()
    toast('绑定码已过期，请重新获取')
  },

  clearOaCode() {
    this.stopOaTimer()
    this.oaExpiresAt = null
    if (this.data.oaCode) this.setData({ oaCode: null })
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
