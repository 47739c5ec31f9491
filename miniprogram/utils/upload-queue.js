// Meeting photos wait here, on the phone, until the server has them. Branch meetings are often held where the
// signal is weak: a photo is queued with where and when it was taken, its file moved out of the temporary folder
// (temporary paths die with the app), and sent when the network allows — with its original capture time, so the
// server can tell a photo taken at the meeting and sent later (late_upload) from one taken later. Each photo gets
// a client_id once; a retry after a lost answer lands on the same photo on the server.
//
// An item, kept in wx storage in the order the photos were taken:
//   {client_id, meeting_id, member_id, file_path, file_saved, latitude, longitude, accuracy, coord_sys, taken_at,
//    purpose, status: 'pending' | 'failed', attempts, last_error, error_code, queued_at}
// A 'failed' item was refused for good (not a photo, too large, meeting closed): it stays, with the server's
// Chinese message, until the member retries or deletes it. Nothing leaves the queue unseen.
const config = require('../config')
const session = require('./session')
const request = require('./request')
const { isoLocal } = require('./format')

const STORAGE_KEY = 'upload_queue'
// Answers that sending the same photo again will not change. 401 (refreshed), 408, 429 and 5xx are transient.
const PERMANENT_STATUSES = [400, 403, 404, 409, 410, 413, 415, 422]
const TRANSIENT_CODES = ['password_change_required']
const MESSAGES = {
  network: '网络不给力，照片将在网络恢复后自动上传',
  fileMissing: '照片文件已丢失，请重新拍摄',
  tooLarge: '照片太大，服务器拒绝接收'
}

const listeners = []
let flushing = null
let flushAgain = false
let sendingId = null
let watchedWx = null

function load() {
  const items = wx.getStorageSync(STORAGE_KEY)
  return Array.isArray(items) ? items : []
}

function emit(event) {
  listeners.slice().forEach((listener) => {
    try {
      listener(event)
    } catch (err) {
      // A page's listener must not stop the queue.
    }
  })
}

function save(items, event) {
  wx.setStorageSync(STORAGE_KEY, items)
  emit(event || { type: 'changed' })
}

function update(clientId, patch) {
  const items = load()
  const item = items.find((it) => it.client_id === clientId)
  if (!item) return null
  Object.assign(item, patch)
  save(items)
  return item
}

function currentMemberId() {
  const member = session.getMember()
  return member ? member.id : null
}

// Photos belong to the member who took them: after a change of account they wait for that member.
function isMine(item) {
  return item.member_id === currentMemberId()
}

function newClientId() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let random = ''
  for (let i = 0; i < 12; i += 1) random += alphabet[Math.floor(Math.random() * alphabet.length)]
  return `p${Date.now().toString(36)}-${random}`
}

// A saved file survives a restart; when the phone refuses (the 10 MB of saved files are full) the temporary
// path still works until the app is closed.
function saveFile(tempFilePath) {
  return new Promise((resolve) => {
    wx.saveFile({
      tempFilePath,
      success: (res) => resolve({ path: res.savedFilePath, saved: true }),
      fail: () => resolve({ path: tempFilePath, saved: false })
    })
  })
}

function removeSavedFile(item) {
  if (item.file_saved) wx.removeSavedFile({ filePath: item.file_path, fail: () => {} })
}

function fileExists(path) {
  if (!wx.getFileSystemManager) return true
  try {
    wx.getFileSystemManager().accessSync(path)
    return true
  } catch (err) {
    return false
  }
}

/**
 * Queues a photo just taken: {meeting_id, tempFilePath, latitude, longitude, accuracy, coord_sys, taken_at,
 * purpose, client_id?}. `taken_at` is when the photo was taken (ISO with offset), not when it will be sent.
 * Saves the file, writes the queue; a client_id already queued is not queued twice. Returns the item.
 */
async function add(photo) {
  const clientId = photo.client_id || newClientId()
  const existing = load().find((it) => it.client_id === clientId)
  if (existing) return existing
  const file = await saveFile(photo.tempFilePath)
  const item = {
    client_id: clientId,
    meeting_id: photo.meeting_id,
    member_id: currentMemberId(),
    file_path: file.path,
    file_saved: file.saved,
    latitude: photo.latitude === undefined ? null : photo.latitude,
    longitude: photo.longitude === undefined ? null : photo.longitude,
    accuracy: photo.accuracy === undefined ? null : photo.accuracy,
    coord_sys: photo.coord_sys || null,
    taken_at: photo.taken_at || isoLocal(new Date()),
    purpose: photo.purpose || 'scene',
    status: 'pending',
    attempts: 0,
    last_error: '',
    error_code: '',
    queued_at: isoLocal(new Date())
  }
  const items = load()
  if (items.some((it) => it.client_id === clientId)) return items.find((it) => it.client_id === clientId)
  items.push(item)
  save(items)
  return item
}

function formData(item) {
  const data = { client_id: item.client_id, taken_at: item.taken_at, purpose: item.purpose }
  ;['latitude', 'longitude', 'accuracy'].forEach((key) => {
    if (item[key] !== null && item[key] !== undefined) data[key] = String(item[key])
  })
  if (item.coord_sys) data.coord_sys = item.coord_sys
  return data
}

// One wx.uploadFile. Resolves with any HTTP answer; rejects when none came back.
function upload(item, token) {
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      url: `${config.apiBase}/api/meetings/${item.meeting_id}/photos`,
      filePath: item.file_path,
      name: 'file',
      formData: formData(item),
      header: token ? { Authorization: 'Bearer ' + token } : {},
      timeout: config.uploadTimeoutMs,
      success: resolve,
      fail: reject
    })
  })
}

async function uploadWithSession(item) {
  const token = session.getAccessToken()
  const res = await upload(item, token)
  if (res.statusCode !== 401) return res
  await request.refreshSession(token)
  return upload(item, session.getAccessToken())
}

// wx.uploadFile hands the body over as a string.
function parseBody(res) {
  if (typeof res.data !== 'string') return res.data
  try {
    return res.data ? JSON.parse(res.data) : ''
  } catch (err) {
    return res.data
  }
}

function isPermanent(status, code) {
  return PERMANENT_STATUSES.includes(status) && !TRANSIENT_CODES.includes(code)
}

// Sends one item and settles it. 'next': go on with the next item; 'stop': no point trying others now.
async function sendOne(item) {
  if (!fileExists(item.file_path)) {
    update(item.client_id, { status: 'failed', error_code: 'file_missing', last_error: MESSAGES.fileMissing })
    return 'next'
  }
  update(item.client_id, { attempts: (item.attempts || 0) + 1 })
  let res
  try {
    res = await uploadWithSession(item)
  } catch (failure) {
    // No answer, or the session could not be refreshed: the photo waits either way.
    const answered = failure instanceof request.ApiError && failure.status
    update(item.client_id, {
      last_error: answered ? failure.message : MESSAGES.network,
      error_code: answered ? failure.code : 'network_error'
    })
    return 'stop'
  }
  const body = parseBody(res)
  if (res.statusCode >= 200 && res.statusCode < 300) {
    const items = load().filter((it) => it.client_id !== item.client_id)
    removeSavedFile(item)
    save(items, { type: 'uploaded', item, photo: body })
    return 'next'
  }
  const err = request.errorFromResponse({ statusCode: res.statusCode, data: body })
  const message = err.code === 'http_413' ? MESSAGES.tooLarge : err.message
  if (isPermanent(res.statusCode, err.code)) {
    update(item.client_id, { status: 'failed', last_error: message, error_code: err.code })
    return 'next'
  }
  update(item.client_id, { last_error: message, error_code: err.code })
  return 'stop'
}

async function drain() {
  const result = { sent: 0, failed: 0, stopped: false }
  const tried = new Set()
  for (;;) {
    if (!session.isLoggedIn()) break
    const item = load().find((it) => isMine(it) && it.status === 'pending' && !tried.has(it.client_id))
    if (!item) break
    tried.add(item.client_id)
    sendingId = item.client_id
    emit({ type: 'sending', item })
    let outcome
    try {
      outcome = await sendOne(item)
    } finally {
      sendingId = null
    }
    const after = load().find((it) => it.client_id === item.client_id)
    if (!after) result.sent += 1
    else if (after.status === 'failed') result.failed += 1
    if (outcome === 'stop') {
      result.stopped = true
      emit({ type: 'changed' })
      break
    }
  }
  return result
}

/**
 * Sends the current member's pending photos, oldest first, one at a time. A call while a flush runs joins it
 * (and makes it look once more for photos queued meanwhile). Resolves with {sent, failed, stopped}; never rejects.
 */
function flush() {
  if (flushing) {
    flushAgain = true
    return flushing
  }
  flushing = (async () => {
    const total = { sent: 0, failed: 0, stopped: false }
    do {
      flushAgain = false
      const result = await drain()
      total.sent += result.sent
      total.failed += result.failed
      total.stopped = result.stopped
      if (result.stopped) break
    } while (flushAgain)
    return total
  })().finally(() => {
    flushing = null
  })
  return flushing
}

/** The current member's items (of one meeting when given), oldest first, with `sending` on the one in flight. */
function list(meetingId) {
  return load()
    .filter((it) => isMine(it) && (meetingId === undefined || it.meeting_id === meetingId))
    .map((it) => Object.assign({}, it, { sending: it.client_id === sendingId }))
}

/** {pending, failed: [items]} of the current member, of one meeting when given. */
function summary(meetingId) {
  const items = list(meetingId)
  return {
    pending: items.filter((it) => it.status === 'pending').length,
    failed: items.filter((it) => it.status === 'failed')
  }
}

/** Puts a failed photo back in line and flushes. */
function retry(clientId) {
  update(clientId, { status: 'pending', last_error: '', error_code: '' })
  return flush()
}

/** Deletes a photo from the queue (the member chose to), and its saved file. */
function remove(clientId) {
  const items = load()
  const item = items.find((it) => it.client_id === clientId)
  if (!item) return false
  removeSavedFile(item)
  save(items.filter((it) => it.client_id !== clientId))
  return true
}

/** listener({type: 'changed' | 'sending' | 'uploaded', item?, photo?}); returns the function that unsubscribes. */
function subscribe(listener) {
  listeners.push(listener)
  return () => {
    const index = listeners.indexOf(listener)
    if (index >= 0) listeners.splice(index, 1)
  }
}

/** Flushes whenever the phone gets a network back; set up once by the app (once per `wx`: tests make several). */
function watchNetwork() {
  if (watchedWx === wx || !wx.onNetworkStatusChange) return
  watchedWx = wx
  wx.onNetworkStatusChange((res) => {
    if (res && res.isConnected) flush()
  })
}

module.exports = {
  STORAGE_KEY,
  MESSAGES,
  add,
  flush,
  list,
  summary,
  retry,
  remove,
  subscribe,
  watchNetwork,
  newClientId
}
