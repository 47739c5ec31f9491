// The e2e side of the shim: a `wx` whose request and uploadFile really go over HTTP to the live server, and whose
// login gets a one-time code from the server's WeChat sandbox for the "current WeChat user" the test picked.
//
// All e2e files share one server and run in parallel, so an account whose state a file changes belongs to that
// file alone: WeChat binding — member_v1 (wechat-login), city_admin (unbind); password — fresh_member
// (first-login); refresh-token reuse — county_a_admin (refresh). Others only log in and read. Meetings are made
// by the file that uses them; counts that other files could change are read only where that file alone writes:
// the review queue of 甲一镇 (meeting-review submits there), the statistics of 甲二镇 (meeting-stats).
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

const CONTENT_TYPES = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', heic: 'image/heic' }

// wx.uploadFile semantics: a multipart/form-data POST of `formData` and the file under `name`; the answer's body
// is handed over as a string, whatever its type.
function httpUpload({ url, name, formData, header, file, timeout }) {
  const boundary = '----wxUploadBoundary' + Math.random().toString(16).slice(2)
  const parts = []
  Object.keys(formData || {}).forEach((key) => {
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="${key}"\r\n\r\n`
    parts.push(Buffer.from(`${head}${formData[key]}\r\n`))
  })
  const ext = file.name.split('.').pop().toLowerCase()
  const type = CONTENT_TYPES[ext] || 'application/octet-stream'
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file.name}"\r\n` +
        `Content-Type: ${type}\r\n\r\n`
    )
  )
  parts.push(file.content, Buffer.from(`\r\n--${boundary}--\r\n`))
  const body = Buffer.concat(parts)
  const headers = Object.assign({}, header, {
    'content-type': `multipart/form-data; boundary=${boundary}`,
    'content-length': body.length
  })
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, timeout: timeout || 15000 }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ statusCode: res.statusCode, data: Buffer.concat(chunks).toString('utf8'), header: res.headers })
      )
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err) => reject({ errMsg: 'uploadFile:fail ' + err.message }))
    req.end(body)
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
 * for `wechatUser.openid` (change it any time). `intercept(options, send)` may wrap each request, and
 * `interceptUpload(options, send)` each upload (a test turning the network off, say).
 */
function useLiveServer({ intercept, interceptUpload } = {}) {
  const info = serverInfo()
  config.apiBase = info.base_url
  const wechatUser = { openid: null }
  const send = (options) => httpRequest(options)
  const sendUpload = (options) => httpUpload(options)
  global.wx = createWx({
    request: intercept ? (options) => intercept(options, send) : send,
    uploadFile: interceptUpload ? (options) => interceptUpload(options, sendUpload) : sendUpload,
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

module.exports = { serverInfo, useLiveServer, httpRequest, httpUpload, mintCode }
