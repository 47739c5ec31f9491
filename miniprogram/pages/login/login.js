// Login: account and password, or WeChat. A WeChat user not yet bound logs in with the account once; the
// account login then binds WeChat (utils/auth). Where to go next is what the server said about the member.
const auth = require('../../utils/auth')
const session = require('../../utils/session')
const nav = require('../../utils/nav')

function goOn(member) {
  const url = member && member.must_change_password ? nav.PASSWORD_PAGE : nav.HOME_PAGE
  wx.reLaunch({ url })
}

Page({
  data: {
    username: '',
    password: '',
    hint: '',
    bindPending: false,
    submitting: false,
    wechatLoading: false
  },

  onLoad() {
    this.setData({ bindPending: Boolean(session.getBindToken()) })
  },

  onInput(e) {
    this.setData({ [e.currentTarget.dataset.field]: e.detail.value, hint: '' })
  },

  async onAccountLogin() {
    const username = this.data.username.trim()
    const password = this.data.password
    if (!username || !password) {
      this.setData({ hint: '请输入账号和密码' })
      return
    }
    this.setData({ submitting: true, hint: '' })
    try {
      const { member, wechatBound } = await auth.accountLogin(username, password)
      getApp().setMember(member)
      if (wechatBound) wx.showToast({ title: '微信绑定成功', icon: 'success' })
      goOn(member)
    } catch (err) {
      this.setData({ hint: err.message })
    } finally {
      this.setData({ submitting: false })
    }
  },

  async onWechatLogin() {
    this.setData({ wechatLoading: true, hint: '' })
    try {
      const result = await auth.wechatLogin()
      if (result.bound) {
        getApp().setMember(result.member)
        goOn(result.member)
        return
      }
      this.setData({ bindPending: true })
    } catch (err) {
      wx.showToast({ title: err.message, icon: 'none', duration: 2500 })
    } finally {
      this.setData({ wechatLoading: false })
    }
  }
})
