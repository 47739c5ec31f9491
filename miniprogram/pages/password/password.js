// Password change; required at first login (the server answers other requests with password_change_required
// until it is done). The hints here are a courtesy: the server's policy decides and its messages are shown.
const auth = require('../../utils/auth')
const session = require('../../utils/session')
const nav = require('../../utils/nav')

Page({
  data: {
    forced: false,
    current_password: '',
    new_password: '',
    confirm_password: '',
    errors: {},
    hint: '',
    submitting: false
  },

  // forced=1: the server refused a request until the initial password is changed (utils/request).
  onLoad(options) {
    const member = session.getMember()
    const forced = (options && options.forced === '1') || Boolean(member && member.must_change_password)
    this.setData({ forced })
    wx.setNavigationBarTitle({ title: forced ? '首次登录请修改密码' : '修改密码' })
  },

  onInput(e) {
    const field = e.currentTarget.dataset.field
    this.setData({ [field]: e.detail.value, [`errors.${field}`]: '', hint: '' })
  },

  async onSubmit() {
    const { current_password: current, new_password: next, confirm_password: confirm } = this.data
    const errors = {}
    if (!current) errors.current_password = '请输入当前密码'
    if (!next) errors.new_password = '请输入新密码'
    else if (next !== confirm) errors.confirm_password = '两次输入的新密码不一致'
    if (Object.keys(errors).length) {
      this.setData({ errors })
      return
    }
    this.setData({ submitting: true, errors: {}, hint: '' })
    try {
      await auth.changePassword(current, next)
      wx.showToast({ title: '密码已修改', icon: 'success' })
      wx.reLaunch({ url: nav.HOME_PAGE })
    } catch (err) {
      this.setData({
        errors: {
          current_password: err.fieldMessage ? err.fieldMessage('current_password') : '',
          new_password: err.fieldMessage ? err.fieldMessage('new_password') : ''
        },
        hint: err.message
      })
    } finally {
      this.setData({ submitting: false })
    }
  },

  onLogout() {
    auth.logout()
  }
})
