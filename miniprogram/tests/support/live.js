// The e2e side of the shim: a `wx` whose request really goes over HTTP to the live server, and whose login
// gets a one-time code from the server's WeChat sandbox for the "current WeChat user" the test picked.
//
// All e2e files share one server and run in parallel, so an account whose state a file changes belongs to that
// file alone: WeChat binding — member_v1 (wechat-login), city_admin (unbind); password — fresh_member
// (first-login); refresh-token reuse — county_a_admin (refresh). Others only log in and read.
const http = require('http')
const config = require('../../config')
const { createWx } = require('./fake-wx')

function serverInfo() {
  const info = JSON.parse(process.env.LIVE_SERVER || '{"error": "global setup did not run"}')
  if (info.error) throw new Error('live server unavailable: ' + info.error)
  return info
}

function queryString(data) {
  return Object.keys(data)
    .filter((key) => data[key] !== undefined && data[key] !== null)
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(data[key])}`)
    .join('&')
}

// wx.request semantics: any HTTP answer is a success with statusCode; JSON bodies are parsed; GET data goes
// into the query string, other methods send it as JSON.
function httpRequest({ url, method, data, header, timeout }) {
  let target = url
  let body = null
  if (data !== undefined && data !== null) {
    if (method === 'GET' || method === 'HEAD') {
      const qs = typeof data === 'string' ? data : queryString(data)
      if (qs) target += (target.includes('?') ? '&' : '?') + qs
    } else {
      body = typeof data === 'string' ? data : JSON.stringify(data)
    }
  }
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method, headers: header || {}, timeout: timeout || 15000 }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed = text
        try {
          parsed = text ? JSON.parse(text) : ''
        } catch (err) {
          // Not JSON: wx hands over the string.
        }
        resolve({ statusCode: res.statusCode, data: parsed, header: res.headers })
      })
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err) => reject({ errMsg: 'request:fail ' + err.message }))
    if (body !== null) req.write(body)
    req.end()
  })
}

async function mintCode(openid) {
  const res = await httpRequest({
    url: serverInfo().base_url + '/_sandbox/wechat/_control/codes',
    method: 'POST',
    data: { openid },
    header: { 'content-type': 'application/json' }
  })
  if (res.statusCode !== 200 || !res.data.code) {
    throw new Error(`sandbox refused a code for ${openid}: ${res.statusCode} ${JSON.stringify(res.data)}`)
  }
  return res.data.code
}

/**
 * Points the client at the live server and installs a fresh `wx` (empty storage) whose wx.login answers
 * for `wechatUser.openid` (change it any time). `intercept(options, send)` may wrap each request.
 */
function useLiveServer({ intercept } = {}) {
  const info = serverInfo()
  config.apiBase = info.base_url
  const wechatUser = { openid: null }
  const send = (options) => httpRequest(options)
  global.wx = createWx({
    request: intercept ? (options) => intercept(options, send) : send,
    login: async () => {
      if (!wechatUser.openid) throw new Error('the test set no WeChat user')
      return { code: await mintCode(wechatUser.openid) }
    }
  })
  // Straight to the server, bypassing the client: for checking what the server now thinks.
  const rawRequest = (method, path, data, token) =>
    httpRequest({
      url: info.base_url + path,
      method,
      data,
      header: Object.assign({ 'content-type': 'application/json' }, token ? { Authorization: 'Bearer ' + token } : {})
    })
  return { info, wechatUser, mintCode, request: rawRequest }
}

module.exports = { serverInfo, useLiveServer, httpRequest, mintCode }
