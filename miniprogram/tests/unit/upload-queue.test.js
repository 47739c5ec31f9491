// utils/upload-queue.js against a scripted fake wx.uploadFile: persistence, order, retries, permanent refusals.
const { createWx, TEMP_PREFIX, SAVED_PREFIX } = require('../support/fake-wx')
const { TINY_JPEG } = require('../support/photo')

const BASE = 'https://api.test'
const TAKEN_AT = '2026-07-01T09:31:05+08:00'
const networkDown = () => {
  throw { errMsg: 'uploadFile:fail timeout' }
}
const created = (options) => ({
  statusCode: 201,
  data: JSON.stringify({ id: 1, client_id: options.formData.client_id, verdict: { flags: [] } })
})

let queue
let session
let answers
let inFlight
let maxInFlight

// Each upload takes the next answer (a function of the options, or a value); the default answer is 201.
function install() {
  answers = []
  inFlight = 0
  maxInFlight = 0
  global.wx = createWx({
    uploadFile: async (options) => {
      inFlight += 1
      maxInFlight = Math.max(maxInFlight, inFlight)
      try {
        await new Promise((resolve) => setTimeout(resolve, 2))
        const answer = answers.length ? answers.shift() : created
        return typeof answer === 'function' ? answer(options) : answer
      } finally {
        inFlight -= 1
      }
    },
    request: (options) => {
      if (options.url === BASE + '/api/auth/refresh') {
        return { statusCode: 200, data: { access_token: 'access-2', refresh_token: 'refresh-2' } }
      }
      throw new Error('unexpected request ' + options.url)
    }
  })
}

// Loads the modules as a freshly started app would: nothing in memory, only what wx keeps.
function startApp() {
  jest.isolateModules(() => {
    require('../../config').apiBase = BASE
    require('../../config').retryDelayMs = 1
    queue = require('../../utils/upload-queue')
    session = require('../../utils/session')
  })
}

function logIn(memberId = 7) {
  session.saveTokens({ access_token: 'access-1', refresh_token: 'refresh-1', member: { id: memberId, name: '一村党员' } })
}

function takePhoto(name) {
  const path = `${TEMP_PREFIX}${name}.jpg`
  wx.__putFile(path, TINY_JPEG)
  return path
}

function photo(name, extra) {
  return Object.assign(
    {
      meeting_id: 12,
      tempFilePath: takePhoto(name),
      latitude: 26.5801,
      longitude: 106.7102,
      accuracy: 15,
      coord_sys: 'gcj02',
      taken_at: TAKEN_AT,
      purpose: 'scene'
    },
    extra
  )
}

beforeEach(() => {
  install()
  startApp()
  logIn()
})

test('a queued photo survives a restart and is sent later with its capture time, position and client_id', async () => {
  const item = await queue.add(photo('a'))
  expect(item.client_id).toMatch(/^[A-Za-z0-9_-]{8,64}$/)
  // The file was moved out of the temporary folder, which does not outlive the app.
  expect(item.file_path.startsWith(SAVED_PREFIX)).toBe(true)
  expect(item.file_saved).toBe(true)
  expect(wx.files.has(item.file_path)).toBe(true)

  // The app is closed and opened again (hours later, say): the queue is read back from storage.
  wx.__restart()
  startApp()
  expect(queue.list().map((it) => it.client_id)).toEqual([item.client_id])
  expect(queue.summary(12)).toEqual({ pending: 1, failed: [] })

  const result = await queue.flush()
  expect(result).toEqual({ sent: 1, failed: 0, stopped: false })
  expect(wx.calls.uploads).toHaveLength(1)
  const upload = wx.calls.uploads[0]
  expect(upload.url).toBe(BASE + '/api/meetings/12/photos')
  expect(upload.name).toBe('file')
  expect(upload.header.Authorization).toBe('Bearer access-1')
  expect(upload.formData).toEqual({
    client_id: item.client_id,
    taken_at: TAKEN_AT,
    purpose: 'scene',
    latitude: '26.5801',
    longitude: '106.7102',
    accuracy: '15',
    coord_sys: 'gcj02'
  })
  // Sent: out of the queue, its saved file deleted.
  expect(queue.list()).toEqual([])
  expect(wx.files.has(item.file_path)).toBe(false)
})

test('a client_id already queued is not queued twice', async () => {
  const first = await queue.add(photo('a', { client_id: 'photo-0001' }))
  const second = await queue.add(photo('b', { client_id: 'photo-0001' }))
  expect(second.file_path).toBe(first.file_path)
  expect(queue.list()).toHaveLength(1)
  await queue.flush()
  expect(wx.calls.uploads).toHaveLength(1)
})

test('a network failure keeps the photo (same client_id and capture time) and stops until the network is back', async () => {
  const a = await queue.add(photo('a'))
  const b = await queue.add(photo('b', { taken_at: '2026-07-01T09:40:00+08:00' }))
  answers.push(networkDown)

  const offline = await queue.flush()
  expect(offline).toEqual({ sent: 0, failed: 0, stopped: true })
  // Only the first was tried: with no network the others would fail too.
  expect(wx.calls.uploads).toHaveLength(1)
  const waiting = queue.list()
  expect(waiting.map((it) => it.status)).toEqual(['pending', 'pending'])
  expect(waiting[0]).toMatchObject({ attempts: 1, last_error: queue.MESSAGES.network, error_code: 'network_error' })
  expect(queue.summary(12).pending).toBe(2)

  // The network comes back: the app's watcher flushes, oldest first, with the same ids and original times.
  queue.watchNetwork()
  wx.__setNetwork(true)
  await queue.flush()
  const sent = wx.calls.uploads.slice(1).map((u) => [u.formData.client_id, u.formData.taken_at])
  expect(sent).toEqual([
    [a.client_id, TAKEN_AT],
    [b.client_id, '2026-07-01T09:40:00+08:00']
  ])
  expect(wx.calls.uploads[0].formData.client_id).toBe(a.client_id)
  expect(queue.list()).toEqual([])
})

test('a permanent refusal keeps the photo as failed with the server\'s message; the others still go', async () => {
  await queue.add(photo('a'))
  await queue.add(photo('b'))
  await queue.add(photo('c'))
  answers.push(
    {
      statusCode: 422,
      data: JSON.stringify({ error: { code: 'unsupported_type', message: '只接受 JPEG、PNG 或 HEIC 格式的照片', fields: {} } })
    },
    { statusCode: 413, data: '<html><body>413 Request Entity Too Large</body></html>' }
  )
  const result = await queue.flush()
  expect(result).toEqual({ sent: 1, failed: 2, stopped: false })
  expect(wx.calls.uploads).toHaveLength(3)

  const { pending, failed } = queue.summary(12)
  expect(pending).toBe(0)
  expect(failed.map((it) => [it.error_code, it.last_error])).toEqual([
    ['unsupported_type', '只接受 JPEG、PNG 或 HEIC 格式的照片'],
    ['http_413', '照片太大，服务器拒绝接收']
  ])
  // Failed photos are not sent again by themselves …
  await queue.flush()
  expect(wx.calls.uploads).toHaveLength(3)
  // … but a retry sends one again, and the member may delete the other.
  await queue.retry(failed[0].client_id)
  expect(wx.calls.uploads).toHaveLength(4)
  expect(wx.calls.uploads[3].formData.client_id).toBe(failed[0].client_id)
  expect(queue.summary(12).failed.map((it) => it.client_id)).toEqual([failed[1].client_id])
  expect(queue.remove(failed[1].client_id)).toBe(true)
  expect(queue.list()).toEqual([])
  expect(wx.files.has(failed[1].file_path)).toBe(false)
})

test('a server error is not permanent: the photo waits and nothing after it is tried', async () => {
  await queue.add(photo('a'))
  await queue.add(photo('b'))
  answers.push({ statusCode: 503, data: '' })
  const result = await queue.flush()
  expect(result.stopped).toBe(true)
  expect(wx.calls.uploads).toHaveLength(1)
  expect(queue.list().map((it) => it.status)).toEqual(['pending', 'pending'])
  expect(queue.list()[0].last_error).toBe('服务器开小差了，请稍后重试')
})

test('photos go one at a time, in the order they were taken', async () => {
  const ids = []
  for (const name of ['a', 'b', 'c', 'd']) ids.push((await queue.add(photo(name))).client_id)
  await Promise.all([queue.flush(), queue.flush(), queue.flush()])
  expect(maxInFlight).toBe(1)
  expect(wx.calls.uploads.map((u) => u.formData.client_id)).toEqual(ids)
})

test('a photo queued while a flush runs is sent by that flush', async () => {
  await queue.add(photo('a'))
  const running = queue.flush()
  await queue.add(photo('b'))
  const joined = queue.flush()
  expect(joined).toBe(running)
  await running
  expect(wx.calls.uploads).toHaveLength(2)
  expect(queue.list()).toEqual([])
})

test('an expired access token is refreshed once and the upload replayed', async () => {
  await queue.add(photo('a'))
  answers.push({ statusCode: 401, data: JSON.stringify({ error: { code: 'token_expired', message: '登录已过期' } }) })
  await queue.flush()
  expect(wx.calls.uploads.map((u) => u.header.Authorization)).toEqual(['Bearer access-1', 'Bearer access-2'])
  expect(queue.list()).toEqual([])
})

test('photos wait for the member who took them', async () => {
  await queue.add(photo('a'))
  logIn(8)
  expect(queue.list()).toEqual([])
  await queue.flush()
  expect(wx.calls.uploads).toHaveLength(0)
  logIn(7)
  expect(queue.summary(12).pending).toBe(1)
  await queue.flush()
  expect(wx.calls.uploads).toHaveLength(1)
})

test('nothing is sent without a session', async () => {
  await queue.add(photo('a'))
  session.clear()
  await queue.flush()
  expect(wx.calls.uploads).toHaveLength(0)
})

test('a photo whose file could not be saved and was lost with a restart is shown as failed, not dropped', async () => {
  wx.__failSaveFile(true)
  const item = await queue.add(photo('a'))
  expect(item.file_saved).toBe(false)
  expect(item.file_path.startsWith(TEMP_PREFIX)).toBe(true)
  wx.__restart()
  startApp()
  await queue.flush()
  expect(wx.calls.uploads).toHaveLength(0)
  expect(queue.summary(12).failed).toEqual([
    expect.objectContaining({ client_id: item.client_id, error_code: 'file_missing', last_error: '照片文件已丢失，请重新拍摄' })
  ])
})

test('listeners hear each upload with the server\'s photo, and can stop listening', async () => {
  const events = []
  const unsubscribe = queue.subscribe((event) => events.push(event))
  const item = await queue.add(photo('a'))
  await queue.flush()
  const uploaded = events.filter((e) => e.type === 'uploaded')
  expect(uploaded).toHaveLength(1)
  expect(uploaded[0].item.client_id).toBe(item.client_id)
  expect(uploaded[0].photo).toMatchObject({ id: 1, client_id: item.client_id })
  unsubscribe()
  const count = events.length
  await queue.add(photo('b'))
  expect(events.length).toBe(count)
})
