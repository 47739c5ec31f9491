// The signed-in session kept in local storage: the token pair and the member as the server last described it.
const KEYS = {
  access: 'access_token',
  refresh: 'refresh_token',
  member: 'member',
  bindToken: 'wechat_bind_token'
}

function getAccessToken() {
  return wx.getStorageSync(KEYS.access) || ''
}

function getRefreshToken() {
  return wx.getStorageSync(KEYS.refresh) || ''
}

function saveTokens(tokens) {
  wx.setStorageSync(KEYS.access, tokens.access_token)
  if (tokens.refresh_token) wx.setStorageSync(KEYS.refresh, tokens.refresh_token)
  if (tokens.member) wx.setStorageSync(KEYS.member, tokens.member)
}

function getMember() {
  return wx.getStorageSync(KEYS.member) || null
}

function saveMember(member) {
  wx.setStorageSync(KEYS.member, member)
}

function isLoggedIn() {
  return Boolean(getAccessToken() && getRefreshToken())
}

function clear() {
  wx.removeStorageSync(KEYS.access)
  wx.removeStorageSync(KEYS.refresh)
  wx.removeStorageSync(KEYS.member)
}

// A WeChat login for an openid not yet linked to an account yields a bind token; it waits here until the
// member has logged in with the account, then binds. Short-lived, so it is kept with its expiry.
function saveBindToken(token, expiresIn) {
  wx.setStorageSync(KEYS.bindToken, { token, expiresAt: Date.now() + (expiresIn || 300) * 1000 })
}

function getBindToken() {
  const saved = wx.getStorageSync(KEYS.bindToken)
  if (!saved || !saved.token) return ''
  if (saved.expiresAt && saved.expiresAt < Date.now()) {
    wx.removeStorageSync(KEYS.bindToken)
    return ''
  }
  return saved.token
}

function clearBindToken() {
  wx.removeStorageSync(KEYS.bindToken)
}

module.exports = {
  KEYS,
  getAccessToken,
  getRefreshToken,
  saveTokens,
  getMember,
  saveMember,
  isLoggedIn,
  clear,
  saveBindToken,
  getBindToken,
  clearBindToken
}
