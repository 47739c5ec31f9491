// utils/request.js against a scripted fake wx.request.
const config = require('../../config')
const session = require('../../utils/session')
const request = require('../../utils/request')
const { createWx } = require('../support/fake-wx')

const BASE = 'https://api.test'

function envelope(status, code, message, fields) {
  return { statusCode: status, data: { error: { code, message, fields: fields || {} } } }
}

const networkDown = () => {
  throw { errMsg: 'request:fail timeout' }
}

// Routes by "METHOD path"; each value is a function of the request options or a list consumed in order.
function install(routes) {
  const remaining = {}
  Object.keys(routes).forEach((key) => {
    remaining[key] = Array.isArray(routes[key]) ? routes[key].slice() : routes[key]
  })
  global.wx = createWx({
    request: (options) => {
      const key = `${options.method} ${options.url.replace(BASE, '').split('?')[0]}`
      const route = remaining[key]
      if (!route) throw new Error('unexpected request ' + key)
      const answer = Array.isArray(route) ? route.shift() : route
      if (!answer) throw new Error('no more answers for ' + key)
      return typeof answer === 'function' ? answer(options) : answer
    }
  })
  return global.wx
}

function requestsTo(wx, path) {
  return wx.calls.requests.filter((r) => r.url === BASE + path)
}

function loggedIn(access = 'access-1', refresh = 'refresh-1') {
  session.saveTokens({ access_token: access, refresh_token: refresh, member: { id: 7, name: '张三' } })
}

beforeEach(() => {
  config.apiBase = BASE
})

describe('a successful request', () => {
  test('goes to the configured base URL with the access token and resolves with the body', async () => {
    const wx = install({ 'GET /api/home': { statusCode: 200, data: { entries: [] } } })
    loggedIn()
    await expect(request.get('/api/home')).resolves.toEqual({ entries: [] })
    expect(wx.calls.requests[0].url).toBe(BASE + '/api/home')
    expect(wx.calls.requests[0].header.Authorization).toBe('Bearer access-1')
  })

  test('with auth: false sends no token', async () => {
    const wx = install({ 'POST /api/auth/login': { statusCode: 200, data: { access_token: 'a' } } })
    loggedIn()
    await request.post('/api/auth/login', { username: 'u', password: 'p' }, { auth: false })
    expect(wx.calls.requests[0].header.Authorization).toBeUndefined()
    expect(wx.calls.requests[0].data).toEqual({ username: 'u', password: 'p' })
  })
})

describe('a 401 on an authenticated request', () => {
  const expired = envelope(401, 'token_expired', '登录已过期，请刷新或重新登录')

  test('refreshes once with the refresh token and replays with the new access token', async () => {
    const wx = install({
      'GET /api/me': [expired, (opts) => ({ statusCode: 200, data: { seen: opts.header.Authorization } })],
      'POST /api/auth/refresh': [{ statusCode: 200, data: { access_token: 'access-2', refresh_token: 'refresh-2' } }]
    })
    loggedIn()
    await expect(request.get('/api/me')).resolves.toEqual({ seen: 'Bearer access-2' })
    const refreshes = requestsTo(wx, '/api/auth/refresh')
    expect(refreshes).toHaveLength(1)
    expect(refreshes[0].header.Authorization).toBe('Bearer refresh-1')
    expect(refreshes[0].data).toBeUndefined()
    expect(session.getRefreshToken()).toBe('refresh-2')
    expect(wx.calls.toasts).toEqual([])
  })

  test('from several requests at once shares one refresh (rotated refresh tokens die on reuse)', async () => {
    let release
    const gate = new Promise((resolve) => {
      release = resolve
    })
    const ok = (opts) => ({ statusCode: opts.header.Authorization === 'Bearer access-2' ? 200 : 401, data: {} })
    const wx = install({
      'GET /api/me': [expired, ok],
      'GET /api/home': [expired, ok],
      'GET /api/orgs/1': [expired, ok],
      'POST /api/auth/refresh': [
        () => gate.then(() => ({ statusCode: 200, data: { access_token: 'access-2', refresh_token: 'refresh-2' } }))
      ]
    })
    loggedIn()
    const all = Promise.all([request.get('/api/me'), request.get('/api/home'), request.get('/api/orgs/1')])
    await new Promise((resolve) => setTimeout(resolve, 10))
    release()
    await expect(all).resolves.toHaveLength(3)
    expect(requestsTo(wx, '/api/auth/refresh')).toHaveLength(1)
  })

  test('that arrives after another request already refreshed replays without refreshing again', async () => {
    const wx = install({
      'GET /api/me': [
        () => {
          // While this request was on its way, another one refreshed the tokens.
          session.saveTokens({ access_token: 'access-2', refresh_token: 'refresh-2' })
          return expired
        },
        { statusCode: 200, data: { ok: true } }
      ]
    })
    loggedIn()
    await expect(request.get('/api/me')).resolves.toEqual({ ok: true })
    expect(requestsTo(wx, '/api/auth/refresh')).toHaveLength(0)
    expect(wx.calls.requests[1].header.Authorization).toBe('Bearer access-2')
  })

  test('is not refreshed a second time when the replay is refused too', async () => {
    const wx = install({
      'GET /api/me': [expired, envelope(401, 'session_ended', '登录已失效，请重新登录')],
      'POST /api/auth/refresh': [{ statusCode: 200, data: { access_token: 'access-2', refresh_token: 'refresh-2' } }]
    })
    loggedIn()
    await expect(request.get('/api/me')).rejects.toMatchObject({ code: 'session_ended', status: 401 })
    expect(requestsTo(wx, '/api/auth/refresh')).toHaveLength(1)
    expect(requestsTo(wx, '/api/me')).toHaveLength(2)
  })

  test('whose refresh is refused ends the session and opens the login page', async () => {
    const wx = install({
      'GET /api/home': [expired],
      'POST /api/auth/refresh': [envelope(401, 'session_ended', '登录已失效，请重新登录')]
    })
    loggedIn()
    await expect(request.get('/api/home')).rejects.toMatchObject({
      code: 'session_expired',
      message: '登录已过期，请重新登录'
    })
    expect(session.getAccessToken()).toBe('')
    expect(session.getRefreshToken()).toBe('')
    expect(session.getMember()).toBeNull()
    expect(wx.calls.navigations).toEqual([{ type: 'reLaunch', url: '/pages/login/login' }])
    expect(wx.calls.toasts).toEqual(['登录已过期，请重新登录'])
  })

  test('whose refresh meets no network keeps the session and is not retried (a POST)', async () => {
    const wx = install({ 'GET /api/home': [expired], 'POST /api/auth/refresh': networkDown })
    loggedIn()
    await expect(request.get('/api/home')).rejects.toMatchObject({ code: 'network_error', status: 0 })
    expect(requestsTo(wx, '/api/auth/refresh')).toHaveLength(1)
    expect(session.getRefreshToken()).toBe('refresh-1')
    expect(wx.calls.navigations).toEqual([])
  })

  test('on a login request (no token sent) is the answer, not a reason to refresh', async () => {
    const wx = install({ 'POST /api/auth/login': envelope(401, 'bad_credentials', '账号或密码错误') })
    loggedIn()
    const err = await request.post('/api/auth/login', {}, { auth: false }).catch((e) => e)
    expect(err).toBeInstanceOf(request.ApiError)
    expect(err).toMatchObject({ code: 'bad_credentials', message: '账号或密码错误', status: 401 })
    expect(requestsTo(wx, '/api/auth/refresh')).toHaveLength(0)
    expect(wx.calls.toasts).toEqual(['账号或密码错误'])
  })
})

describe('an error answer', () => {
  test('becomes an ApiError with the envelope\'s Chinese message, code, fields and status, shown as a toast', async () => {
    const fields = { new_password: ['密码过于常见，请换一个'] }
    const wx = install({ 'POST /api/auth/password': envelope(422, 'invalid', '密码过于常见，请换一个', fields) })
    loggedIn()
    const err = await request.post('/api/auth/password', {}).catch((e) => e)
    expect(err).toMatchObject({ code: 'invalid', status: 422, fields, message: '密码过于常见，请换一个' })
    expect(err.fieldMessage('new_password')).toBe('密码过于常见，请换一个')
    expect(err.fieldMessage('current_password')).toBe('')
    expect(wx.calls.toasts).toEqual(['密码过于常见，请换一个'])
  })

  test('is not shown when the caller opts out', async () => {
    const wx = install({ 'GET /api/orgs/9': envelope(404, 'not_found', '对象不存在') })
    loggedIn()
    await expect(request.get('/api/orgs/9', null, { showError: false })).rejects.toMatchObject({ code: 'not_found' })
    expect(wx.calls.toasts).toEqual([])
  })

  test('without an envelope (a proxy\'s 502 page) still has a Chinese message', async () => {
    const wx = install({ 'GET /api/home': { statusCode: 502, data: '<html>Bad Gateway</html>' } })
    loggedIn()
    await expect(request.get('/api/home')).rejects.toMatchObject({ status: 502, message: '服务器开小差了，请稍后重试' })
    expect(wx.calls.toasts).toEqual(['服务器开小差了，请稍后重试'])
  })

  test('password_change_required sends the member to the password page', async () => {
    const wx = install({ 'GET /api/home': envelope(403, 'password_change_required', '首次登录请先修改初始密码') })
    loggedIn()
    await expect(request.get('/api/home')).rejects.toMatchObject({ code: 'password_change_required' })
    expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/password/password?forced=1' })
  })
})

describe('a network failure', () => {
  test('of a GET is retried up to twice more, then succeeds', async () => {
    const wx = install({ 'GET /api/home': [networkDown, networkDown, { statusCode: 200, data: { ok: 1 } }] })
    loggedIn()
    await expect(request.get('/api/home')).resolves.toEqual({ ok: 1 })
    expect(requestsTo(wx, '/api/home')).toHaveLength(3)
    expect(wx.calls.toasts).toEqual([])
  })

  test('of a GET that keeps failing ends with the Chinese network message after three attempts', async () => {
    const wx = install({ 'GET /api/home': networkDown })
    loggedIn()
    const err = await request.get('/api/home').catch((e) => e)
    expect(err).toMatchObject({ code: 'network_error', status: 0, message: '网络不给力，请稍后重试' })
    expect(err.errMsg).toBe('request:fail timeout')
    expect(requestsTo(wx, '/api/home')).toHaveLength(3)
    expect(wx.calls.toasts).toEqual(['网络不给力，请稍后重试'])
  })

  test.each(['PUT', 'DELETE'])('of a %s (idempotent) is retried', async (method) => {
    const wx = install({ [`${method} /api/x`]: [networkDown, { statusCode: 204, data: '' }] })
    loggedIn()
    await expect(request.request({ url: '/api/x', method })).resolves.toBe('')
    expect(requestsTo(wx, '/api/x')).toHaveLength(2)
  })

  test.each(['POST', 'PATCH'])('of a %s is never retried (it may have been carried out)', async (method) => {
    const wx = install({ [`${method} /api/x`]: [networkDown, { statusCode: 200, data: {} }] })
    loggedIn()
    await expect(request.request({ url: '/api/x', method })).rejects.toMatchObject({
      code: 'network_error',
      message: '网络不给力，请稍后重试'
    })
    expect(requestsTo(wx, '/api/x')).toHaveLength(1)
  })

  test('waits longer before each retry', async () => {
    const times = []
    install({
      'GET /api/home': () => {
        times.push(Date.now())
        throw { errMsg: 'request:fail timeout' }
      }
    })
    config.retryDelayMs = 20
    try {
      await request.get('/api/home', null, { showError: false }).catch(() => {})
    } finally {
      config.retryDelayMs = 1
    }
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(15)
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(35)
  })
})
