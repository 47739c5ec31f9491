// utils/duty-queue.js against a scripted server: a check-in is stored before it is sent, keeps its client_id and
// reading time through lost answers and restarts, leaves the phone only when the server has it, and a permanent
// refusal stays visible. Photo check-ins go as multipart with the same fields.
const { createWx, TEMP_PREFIX } = require('../support/fake-wx')
const { TINY_JPEG } = require('../support/photo')

const BASE = 'https://api.test'
const READ_AT = '2026-07-08T08:31:05+08:00'

let queue
let session
let server

// The server: keeps rows by client_id (as the API does) and answers as scripted per attempt.
function install() {
  server = { rows: new Map(), posts: [], uploads: [], answers: [] }
  const judge = (body) => {
    const known = server.rows.get(body.client_id)
    if (known) return { statusCode: 200, data: known }
    const row = Object.assign({ id: server.rows.size + 1, result: 'inside', timing: 'on_time', flags: [] }, body)
    server.rows.set(body.client_id, row)
    return { statusCode: 201, data: row }
  }
  const answer = (body) => {
    const next = server.answers.length ? server.answers.shift() : 'ok'
    if (next === 'down') throw { errMsg: 'request:fail timeout' }
    if (next === 'lost') {
      judge(body) // the server stored it, the answer never came back
      throw { errMsg: 'request:fail timeout' }
    }
    if (typeof next === 'object') return next
    return judge(body)
  }
  global.wx = createWx({
    request: (options) => {
      if (options.url === BASE + '/api/duty/checkins') {
        server.posts.push(options.data)
        return answer(options.data)
      }
      throw new Error('unexpected request ' + options.url)
    },
    uploadFile: (options) => {
      server.uploads.push({ url: options.url, formData: options.formData, size: options.file.content.length })
      const res = answer(Object.assign({}, options.formData, { org_id: Number(options.formData.org_id) }))
      return Object.assign({}, res, { data: JSON.stringify(res.data) })
    }
  })
}

function startApp() {
  jest.isolateModules(() => {
    require('../../config').apiBase = BASE
    queue = require('../../utils/duty-queue')
    session = require('../../utils/session')
  })
}

function logIn(memberId = 21) {
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: memberId, name: '驻村干部' } })
}

function checkin(extra) {
  return Object.assign(
    { org_id: 14, kind: 'checkin', latitude: 26.5413, longitude: 106.7551, accuracy: 12, coord_sys: 'gcj02', read_at: READ_AT },
    extra
  )
}

beforeEach(() => {
  install()
  startApp()
  logIn()
})

test('stored first, then sent with its reading time; gone from the phone once the server has it', async () => {
  const item = await queue.add(checkin({ remark: '' }))
  expect(item.client_id).toMatch(/^[A-Za-z0-9_-]{8,58}$/)
  expect(queue.list()).toHaveLength(1)
  const outcome = await queue.send(item.client_id)
  expect(outcome.status).toBe('sent')
  expect(outcome.checkin.result).toBe('inside')
  expect(server.posts).toEqual([
    {
      client_id: item.client_id,
      org_id: 14,
      kind: 'checkin',
      latitude: 26.5413,
      longitude: 106.7551,
      accuracy: 12,
      coord_sys: 'gcj02',
      read_at: READ_AT
    }
  ])
  expect(queue.list()).toEqual([])
})

test('a lost answer: the retry sends the same client_id and read_at, and the server keeps one row', async () => {
  const item = await queue.add(checkin({ remark: '入户走访' }))
  server.answers.push('lost')
  const first = await queue.send(item.client_id)
  expect(first.status).toBe('pending')
  expect(first.message).toBe(queue.MESSAGES.network)
  expect(queue.list()[0]).toMatchObject({ status: 'pending', attempts: 1, error_code: 'network_error' })

  // The app is closed and opened again: the check-in is still there, and goes out on the next flush.
  wx.__restart()
  startApp()
  const result = await queue.flush()
  expect(result.sent).toHaveLength(1)
  expect(server.posts.map((p) => [p.client_id, p.read_at, p.remark])).toEqual([
    [item.client_id, READ_AT, '入户走访'],
    [item.client_id, READ_AT, '入户走访']
  ])
  expect(server.rows.size).toBe(1)
  expect(result.sent[0].id).toBe(1)
  expect(queue.list()).toEqual([])
})

test('flush sends oldest first and stops at the first that finds no network', async () => {
  const a = await queue.add(checkin({ kind: 'checkin', read_at: '2026-07-08T08:30:00+08:00' }))
  const b = await queue.add(checkin({ kind: 'checkout', read_at: '2026-07-08T17:40:00+08:00' }))
  server.answers.push('ok', 'down')
  const result = await queue.flush()
  expect(result).toMatchObject({ failed: 0, stopped: true })
  expect(result.sent.map((c) => c.client_id)).toEqual([a.client_id])
  expect(queue.list().map((it) => it.client_id)).toEqual([b.client_id])
  await queue.flush()
  expect(queue.list()).toEqual([])
  expect(server.posts.map((p) => p.kind)).toEqual(['checkin', 'checkout', 'checkout'])
})

test('a permanent refusal stays on the phone as failed, with the server message; busy servers are retried', async () => {
  const refused = await queue.add(checkin({ org_id: 99 }))
  server.answers.push({
    statusCode: 422,
    data: { error: { code: 'invalid', message: 'org_id：今天没有派驻到该村', fields: { org_id: ['今天没有派驻到该村'] } } }
  })
  const outcome = await queue.send(refused.client_id)
  expect(outcome.status).toBe('failed')
  expect(outcome.message).toBe('org_id：今天没有派驻到该村')
  expect(queue.list()[0]).toMatchObject({ status: 'failed', error_code: 'invalid' })
  // Failed items are not sent again by a flush; deleting them is the member's choice.
  await queue.flush()
  expect(server.posts).toHaveLength(1)
  expect(queue.remove(refused.client_id)).toBe(true)

  const busy = await queue.add(checkin())
  server.answers.push({ statusCode: 503, data: { error: { code: 'unavailable', message: '服务器繁忙' } } })
  expect((await queue.send(busy.client_id)).status).toBe('pending')
  expect((await queue.send(busy.client_id)).status).toBe('sent')
})

test('check-ins wait for the member who made them', async () => {
  await queue.add(checkin())
  logIn(22)
  expect(queue.list()).toEqual([])
  expect((await queue.flush()).sent).toEqual([])
  expect(server.posts).toEqual([])
  logIn(21)
  expect((await queue.flush()).sent).toHaveLength(1)
})

test('a live photo goes as multipart with the same fields, its saved file removed afterwards', async () => {
  const temp = `${TEMP_PREFIX}live.jpg`
  wx.__putFile(temp, TINY_JPEG)
  const item = await queue.add(checkin({ tempFilePath: temp, request_id: 3 }))
  expect(item.file_saved).toBe(true)
  wx.__restart() // the temporary file is gone; the saved copy is not
  server.answers.push('down')
  expect((await queue.send(item.client_id)).status).toBe('pending')
  const outcome = await queue.send(item.client_id)
  expect(outcome.status).toBe('sent')
  expect(server.uploads).toHaveLength(2)
  expect(server.uploads[1].url).toBe(BASE + '/api/duty/checkins/photo')
  expect(server.uploads[1].formData).toEqual({
    client_id: item.client_id,
    org_id: '14',
    kind: 'checkin',
    latitude: '26.5413',
    longitude: '106.7551',
    accuracy: '12',
    coord_sys: 'gcj02',
    read_at: READ_AT,
    request_id: '3'
  })
  expect(server.uploads[1].size).toBe(TINY_JPEG.length)
  expect(wx.files.has(item.file_path)).toBe(false)
})

test('a photo whose file is gone fails for good instead of being sent without it', async () => {
  const temp = `${TEMP_PREFIX}lost.jpg`
  wx.__putFile(temp, TINY_JPEG)
  wx.__failSaveFile(true)
  const item = await queue.add(checkin({ tempFilePath: temp }))
  wx.__restart()
  const outcome = await queue.send(item.client_id)
  expect(outcome).toMatchObject({ status: 'failed', message: queue.MESSAGES.fileMissing })
  expect(server.uploads).toEqual([])
})

test('one send at a time, and adding the same client_id twice keeps one item', async () => {
  const item = await queue.add(checkin({ client_id: 'dtest-000000001' }))
  expect(await queue.add(checkin({ client_id: 'dtest-000000001' }))).toEqual(item)
  const [a, b] = await Promise.all([queue.send(item.client_id), queue.flush()])
  expect(a.status).toBe('sent')
  expect(b.sent).toEqual([])
  expect(server.posts).toHaveLength(1)
})
