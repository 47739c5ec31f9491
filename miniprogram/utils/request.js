// The API client: a promise around wx.request that signs requests with the access token, refreshes it once on
// 401, turns the server's error envelope into an ApiError with a Chinese message (shown as a toast unless the
// caller opts out) and retries idempotent requests when a weak network drops them.
const config = require('../config')
const session = require('./session')
const nav = require('./nav')

const NETWORK_MESSAGE = '网络不给力，请稍后重试'
const SESSION_EXPIRED_MESSAGE = '登录已过期，请重新登录'
const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']

class ApiError extends Error {
  constructor({ message, code, fields, status }) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.fields = fields || {}
    this.status = status || 0
  }

  // The first message the server gave for `field`, for showing it under the form input.
  fieldMessage(field) {
    const messages = this.fields[field]
    return (messages && messages[0]) || ''
  }
}

function statusMessage(status) {
  if (status >= 500) return '服务器开小差了，请稍后重试'
  if (status === 404) return '请求的内容不存在'
  if (status === 403) return '没有权限执行此操作'
  return `请求失败（${status}）`
}

function errorFromResponse(res) {
  const body = res.data && typeof res.data === 'object' ? res.data.error : null
  if (body && body.message) {
    return new ApiError({ message: body.message, code: body.code, fields: body.fields, status: res.statusCode })
  }
  return new ApiError({ message: statusMessage(res.statusCode), code: 'http_' + res.statusCode, status: res.statusCode })
}

function sessionExpiredError() {
  return new ApiError({ message: SESSION_EXPIRED_MESSAGE, code: 'session_expired', status: 401 })
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// One wx.request. Resolves with any HTTP answer (4xx and 5xx included); rejects only when none came back.
function send({ url, method, data, header }) {
  return new Promise((resolve, reject) => {
    wx.request({
      url: config.apiBase + url,
      method,
      data,
      header: Object.assign({ 'content-type': 'application/json' }, header),
      timeout: config.timeoutMs,
      success: resolve,
      fail: reject
    })
  })
}

// Only idempotent requests are sent again: a POST whose answer was lost may well have been carried out.
async function sendWithRetry(opts) {
  const retries = opts.retry !== false && IDEMPOTENT_METHODS.includes(opts.method) ? config.retries : 0
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await send(opts)
    } catch (failure) {
      if (attempt >= retries) {
        const err = new ApiError({ message: NETWORK_MESSAGE, code: 'network_error', status: 0 })
        err.errMsg = failure && failure.errMsg
        throw err
      }
      await sleep(config.retryDelayMs * 2 ** attempt)
    }
  }
}

// Shown whatever the caller asked: the member is taken to the login page and should know why.
function endSession() {
  session.clear()
  wx.reLaunch({ url: nav.LOGIN_PAGE })
  wx.showToast({ title: SESSION_EXPIRED_MESSAGE, icon: 'none', duration: 2500 })
}

// Refresh tokens rotate: the server kills the session when an old refresh token is used twice. So all requests
// that meet a 401 together share one refresh, and the refresh itself is never retried blindly.
let refreshing = null

async function refreshOnce() {
  const refreshToken = session.getRefreshToken()
  if (!refreshToken) {
    endSession()
    throw sessionExpiredError()
  }
  const res = await sendWithRetry({
    url: '/api/auth/refresh',
    method: 'POST',
    header: { Authorization: 'Bearer ' + refreshToken },
    retry: false
  })
  if (res.statusCode >= 200 && res.statusCode < 300 && res.data && res.data.access_token) {
    session.saveTokens(res.data)
    return
  }
  // A busy or failing server says nothing about the session: keep it and let the member try again.
  if (res.statusCode >= 500 || res.statusCode === 429) throw errorFromResponse(res)
  endSession()
  throw sessionExpiredError()
}

function refreshTokens(staleAccessToken) {
  const current = session.getAccessToken()
  // Another request refreshed while this one was on its way: just use the new token.
  if (current && current !== staleAccessToken) return Promise.resolve()
  if (!refreshing) {
    refreshing = refreshOnce().finally(() => {
      refreshing = null
    })
  }
  return refreshing
}

async function perform(opts) {
  const token = opts.auth ? session.getAccessToken() : ''
  const header = Object.assign({}, opts.header)
  if (token) header.Authorization = 'Bearer ' + token
  const res = await sendWithRetry(Object.assign({}, opts, { header }))
  if (res.statusCode === 401 && token && !opts.replayed) {
    await refreshTokens(token)
    return perform(Object.assign({}, opts, { replayed: true }))
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res.data
  const err = errorFromResponse(res)
  if (err.code === 'password_change_required') wx.reLaunch({ url: nav.PASSWORD_PAGE + '?forced=1' })
  throw err
}

function showError(err) {
  wx.showToast({ title: err.message, icon: 'none', duration: 2500 })
}

/**
 * request({url, method, data, auth = true, showError = true, retry}) → the response body.
 * `url` is a path under config.apiBase. Throws ApiError {message, code, fields, status}; status 0 means
 * no answer came back. With `auth: false` no token is sent and a 401 is the caller's answer (bad password).
 */
async function request(options) {
  const opts = Object.assign({ method: 'GET', auth: true, showError: true }, options)
  opts.method = opts.method.toUpperCase()
  try {
    return await perform(opts)
  } catch (err) {
    if (opts.showError && err instanceof ApiError && err.code !== 'session_expired') showError(err)
    throw err
  }
}

function get(url, data, options) {
  return request(Object.assign({ url, data, method: 'GET' }, options))
}

function post(url, data, options) {
  return request(Object.assign({ url, data, method: 'POST' }, options))
}

function put(url, data, options) {
  return request(Object.assign({ url, data, method: 'PUT' }, options))
}

function del(url, data, options) {
  return request(Object.assign({ url, data, method: 'DELETE' }, options))
}

module.exports = {
  request,
  get,
  post,
  put,
  del,
  ApiError,
  errorFromResponse,
  // For callers that send without wx.request (wx.uploadFile): the same shared refresh after a 401.
  refreshSession: refreshTokens,
  NETWORK_MESSAGE,
  SESSION_EXPIRED_MESSAGE
}
