// Logging in and out: account and WeChat login, binding WeChat to the account, password change.
// Tokens live in ./session; every call goes through ./request. These functions show nothing: they throw
// ApiError with a Chinese message and the page decides where to show it (under the form or as a toast).
const request = require('./request')

const QUIET = { showError: false }
const session = require('./session')
const nav = require('./nav')

function wxLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res.code ? resolve(res.code) : reject(res)),
      fail: reject
    })
  }).catch(() => {
    throw new request.ApiError({ message: '微信登录失败，请稍后重试', code: 'wx_login_failed' })
  })
}

/**
 * Binds WeChat to the account just logged in, when a WeChat login found it unbound. Never fails the login:
 * an expired bind token only means the member binds later from the "me" page. Returns true if bound.
 */
async function bindPending() {
  const bindToken = session.getBindToken()
  if (!bindToken) return false
  session.clearBindToken()
  try {
    await request.post('/api/auth/wechat/bind', { bind_token: bindToken }, QUIET)
    return true
  } catch (err) {
    return false
  }
}

/** Account login. Saves the tokens, binds a pending WeChat login. Returns {member, wechatBound}. */
async function accountLogin(username, password) {
  const data = await request.post('/api/auth/login', { username, password }, { auth: false, showError: false })
  session.saveTokens(data)
  const wechatBound = await bindPending()
  return { member: data.member, wechatBound }
}

/**
 * WeChat login: wx.login's one-time code goes to the server. Returns {bound: true, member} when the WeChat
 * user is bound to an account (tokens saved); else {bound: false} and keeps the bind token for accountLogin.
 */
async function wechatLogin() {
  const code = await wxLoginCode()
  const data = await request.post('/api/auth/wechat', { code }, { auth: false, showError: false })
  if (data.bound) {
    session.clearBindToken()
    session.saveTokens(data)
    return { bound: true, member: data.member }
  }
  session.saveBindToken(data.bind_token, data.expires_in)
  return { bound: false }
}

/**
 * Binds the current WeChat user to the logged-in member (from the "me" page) with a fresh wx.login code.
 * Returns true when bound; false when this WeChat user is already bound to another account.
 */
async function bindCurrentWechat() {
  const code = await wxLoginCode()
  try {
    await request.post('/api/auth/wechat/bind', { code }, QUIET)
    return true
  } catch (err) {
    if (err.code === 'wechat_bound_elsewhere') return false
    throw err
  }
}

function unbindWechat() {
  return request.del('/api/auth/wechat/bind', null, QUIET)
}

async function changePassword(currentPassword, newPassword) {
  await request.post(
    '/api/auth/password',
    { current_password: currentPassword, new_password: newPassword },
    QUIET
  )
  const member = session.getMember()
  if (member) session.saveMember(Object.assign({}, member, { must_change_password: false }))
}

/** Ends the session on the server (best effort: the local tokens go either way) and opens the login page. */
async function logout() {
  try {
    await request.post('/api/auth/logout', null, { showError: false, retry: false })
  } catch (err) {
    // An ended or unreachable session still logs out locally.
  }
  session.clear()
  wx.reLaunch({ url: nav.LOGIN_PAGE })
}

module.exports = {
  accountLogin,
  wechatLogin,
  bindPending,
  bindCurrentWechat,
  unbindWechat,
  changePassword,
  logout,
  isLoggedIn: session.isLoggedIn,
  getMember: session.getMember
}
