// app.js: the upload queue is flushed when the app comes to the foreground and when the network comes back; the
// duty check-in queue when the app comes to the foreground.
const config = require('../../config')
const session = require('../../utils/session')
const uploadQueue = require('../../utils/upload-queue')
const dutyQueue = require('../../utils/duty-queue')
const { launchApp } = require('../support/harness')
const { createWx } = require('../support/fake-wx')
const { TINY_JPEG } = require('../support/photo')

let uploads
let checkins

// Waits for what the app started by itself (calling flush here would send the photos on its own).
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

beforeEach(async () => {
  uploads = []
  checkins = []
  global.wx = createWx({
    request: (options) => {
      if (options.url !== 'https://api.test/api/duty/checkins') throw new Error('unexpected request ' + options.url)
      checkins.push(options.data.client_id)
      return { statusCode: 201, data: Object.assign({ id: checkins.length, result: 'inside', flags: [] }, options.data) }
    },
    uploadFile: (options) => {
      uploads.push(options.formData.client_id)
      return { statusCode: 201, data: '{}' }
    }
  })
  config.apiBase = 'https://api.test'
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 7 } })
  wx.__putFile('http://tmp/a.jpg', TINY_JPEG)
  await uploadQueue.add({ meeting_id: 1, tempFilePath: 'http://tmp/a.jpg', taken_at: '2026-07-01T09:00:00+08:00' })
})

test('coming to the foreground sends what waits', async () => {
  const app = launchApp()
  expect(uploads).toEqual([])
  app.onShow()
  await settle()
  expect(uploads).toHaveLength(1)
  expect(uploadQueue.list()).toEqual([])
})

test('the network coming back sends what waits; losing it does not', async () => {
  launchApp()
  wx.__setNetwork(false)
  await settle()
  expect(uploads).toEqual([])
  wx.__setNetwork(true)
  await settle()
  expect(uploads).toHaveLength(1)
})

test('without a session nothing is sent, and the photos wait', async () => {
  session.clear()
  const app = launchApp()
  app.onShow()
  wx.__setNetwork(true)
  await settle()
  expect(uploads).toEqual([])
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 7 } })
  expect(uploadQueue.summary(1).pending).toBe(1)
})

describe('duty check-ins waiting on the phone', () => {
  const checkin = {
    org_id: 14,
    kind: 'checkin',
    latitude: 26.5413,
    longitude: 106.7551,
    accuracy: 12,
    coord_sys: 'gcj02',
    read_at: '2026-07-08T08:31:05+08:00'
  }

  test('coming to the foreground sends them, with their client_id, and they leave the phone', async () => {
    const item = await dutyQueue.add(checkin)
    const app = launchApp()
    await settle()
    expect(checkins).toEqual([]) // launching alone sends nothing
    app.onShow()
    await settle()
    expect(checkins).toEqual([item.client_id])
    expect(dutyQueue.list()).toEqual([])
  })

  test('without a session they are not sent and wait for the next time', async () => {
    const item = await dutyQueue.add(checkin)
    session.clear()
    const app = launchApp()
    app.onShow()
    await settle()
    expect(checkins).toEqual([])
    session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 7 } })
    expect(dutyQueue.list().map((it) => it.client_id)).toEqual([item.client_id])
    app.onShow()
    await settle()
    expect(checkins).toEqual([item.client_id])
  })
})
