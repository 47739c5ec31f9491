// Duty check-ins wait here, on the phone, until the server has judged them. Villages often have a weak signal: a
// check-in is stored with the position and the moment it was read (read_at) and its client_id before anything is
// sent, so a lost answer, a dropped network or a closed app never loses it and never doubles it — sending again
// with the same client_id makes the server answer with the row it already has (docs/api-duty.md). The server flags
// check-ins that arrive long after read_at (late_upload); it does not refuse them (up to DUTY_MAX_BACKDATE_DAYS).
//
// An item, kept in wx storage in the order the check-ins were made:
//   {client_id, member_id, org_id, org_name, kind, latitude, longitude, accuracy, coord_sys, read_at, remark,
//    request_id, file_path, file_saved, status: 'pending' | 'failed', attempts, last_error, error_code, queued_at}
// A live photo (file_path) goes with it as multipart to /api/duty/checkins/photo. A 'failed' item was refused for
// good (a village the cadre is not assigned to, a reading too old): it stays, with the server's Chinese message,
// until the member deletes it. Nothing leaves the queue unseen.
const config = require('../config')
const session = require('./session')
const request = require('./request')
const { isoLocal } = require('./format')

const STORAGE_KEY = 'duty_checkin_queue'
// Answers that sending the same check-in again will not change; 401 (refreshed), 408, 429 and 5xx are transient.
const PERMANENT_STATUSES = [400, 403, 404, 409, 410, 413, 415, 422]
const TRANSIENT_CODES = ['password_change_required']
const MESSAGES = {
  network: '网络不给力，签到已保存在手机上，网络恢复后自动提交',
  fileMissing: '照片文件已丢失，请删除后重新签到'
}
const BODY_FIELDS = ['client_id', 'org_id', 'kind', 'latitude', 'longitude', 'accuracy', 'coord_sys', 'read_at']

// One send at a time: a flush and a tap on 签到 never post the same item side by side.
let chain = Promise.resolve()

function exclusive(fn) {
  const run = chain.then(fn, fn)
  chain = run.catch(() => {})
  return run
}

function load() {
  const items = wx.getStorageSync(STORAGE_KEY)
  return Array.isArray(items) ? items : []
}

function save(items) {
  wx.setStorageSync(STORAGE_KEY, items)
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

function newClientId() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let random = ''
  for (let i = 0; i < 12; i += 1) random += alphabet[Math.floor(Math.random() * alphabet.length)]
  return `d${Date.now().toString(36)}-${random}`
}

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
  if (item.file_path && item.file_saved) wx.removeSavedFile({ filePath: item.file_path, fail: () => {} })
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
 * Stores a check-in just read: {org_id, org_name?, kind, latitude, longitude, accuracy, coord_sys, read_at, remark?,
 * request_id?, tempFilePath?, client_id?}. `read_at` is when the position was read, not when it will be sent.
 * The photo file is saved first (temporary paths die with the app). Returns the item; a client_id already
 * stored is not stored twice.
 */
async function add(checkin) {
  const clientId = checkin.client_id || newClientId()
  const existing = load().find((it) => it.client_id === clientId)
  if (existing) return existing
  const file = checkin.tempFilePath ? await saveFile(checkin.tempFilePath) : { path: null, saved: false }
  const item = {
    client_id: clientId,
    member_id: currentMemberId(),
    org_id: checkin.org_id,
    org_name: checkin.org_name || '',
    kind: checkin.kind || 'checkin',
    latitude: checkin.latitude,
    longitude: checkin.longitude,
    accuracy: checkin.accuracy,
    coord_sys: checkin.coord_sys || 'gcj02',
    read_at: checkin.read_at || isoLocal(new Date()),
    remark: checkin.remark || '',
    request_id: checkin.request_id || null,
    file_path: file.path,
    file_saved: file.saved,
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

/** The body the API expects: the stored fields, the remark and the photo-check request when there are ones. */
function body(item) {
  const out = {}
  BODY_FIELDS.forEach((key) => {
    out[key] = item[key]
  })
  if (item.remark) out.remark = item.remark
  if (item.request_id) out.request_id = item.request_id
  return out
}

function upload(item, token) {
  const formData = {}
  const fields = body(item)
  Object.keys(fields).forEach((key) => {
    formData[key] = String(fields[key])
  })
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      url: `${config.apiBase}/api/duty/checkins/photo`,
      filePath: item.file_path,
      name: 'file',
      formData,
      header: token ? { Authorization: 'Bearer ' + token } : {},
      timeout: config.uploadTimeoutMs,
      success: resolve,
      fail: reject
    })
  })
}

function parseBody(res) {
  if (typeof res.data !== 'string') return res.data
  try {
    return res.data ? JSON.parse(res.data) : ''
  } catch (err) {
    return res.data
  }
}

// The photo check-in through wx.uploadFile, with the same one refresh after a 401 as utils/request.
async function postPhoto(item) {
  const token = session.getAccessToken()
  let res
  try {
    res = await upload(item, token)
    if (res.statusCode === 401) {
      await request.refreshSession(token)
      res = await upload(item, session.getAccessToken())
    }
  } catch (failure) {
    if (failure instanceof request.ApiError) throw failure
    throw new request.ApiError({ message: MESSAGES.network, code: 'network_error', status: 0 })
  }
  const data = parseBody(res)
  if (res.statusCode >= 200 && res.statusCode < 300) return data
  throw request.errorFromResponse({ statusCode: res.statusCode, data })
}

function isPermanent(err) {
  return PERMANENT_STATUSES.includes(err.status) && !TRANSIENT_CODES.includes(err.code)
}

// Sends one stored item and settles it: {status: 'sent', checkin} | {status: 'pending' | 'failed', message, item}.
async function sendNow(clientId) {
  const item = load().find((it) => it.client_id === clientId)
  if (!item) return { status: 'gone' }
  if (item.file_path && !fileExists(item.file_path)) {
    const failed = update(clientId, { status: 'failed', error_code: 'file_missing', last_error: MESSAGES.fileMissing })
    return { status: 'failed', message: MESSAGES.fileMissing, item: failed }
  }
  update(clientId, { attempts: (item.attempts || 0) + 1 })
  try {
    const checkin = item.file_path
      ? await postPhoto(item)
      : await request.post('/api/duty/checkins', body(item), { showError: false })
    removeSavedFile(item)
    save(load().filter((it) => it.client_id !== clientId))
    return { status: 'sent', checkin }
  } catch (err) {
    const answered = err instanceof request.ApiError && err.status
    const message = answered ? err.message : MESSAGES.network
    const code = answered ? err.code : 'network_error'
    if (answered && isPermanent(err)) {
      return { status: 'failed', message, item: update(clientId, { status: 'failed', last_error: message, error_code: code }) }
    }
    return { status: 'pending', message, item: update(clientId, { last_error: message, error_code: code }) }
  }
}

/** Sends one stored check-in now (after the ones already sending). Never rejects. */
function send(clientId) {
  return exclusive(() => sendNow(clientId))
}

/**
 * Sends the current member's pending check-ins, oldest first, stopping at the first that finds no network or a
 * busy server. Resolves with {sent: [checkin], failed, stopped}; never rejects.
 */
function flush() {
  return exclusive(async () => {
    const result = { sent: [], failed: 0, stopped: false }
    if (!session.isLoggedIn()) return result
    const me = currentMemberId()
    const ids = load()
      .filter((it) => it.member_id === me && it.status === 'pending')
      .map((it) => it.client_id)
    for (const clientId of ids) {
      const outcome = await sendNow(clientId)
      if (outcome.status === 'sent') result.sent.push(outcome.checkin)
      else if (outcome.status === 'failed') result.failed += 1
      else if (outcome.status === 'pending') {
        result.stopped = true
        break
      }
    }
    return result
  })
}

/** The current member's stored check-ins (of one village when given), oldest first. */
function list(orgId) {
  const me = currentMemberId()
  return load().filter((it) => it.member_id === me && (orgId === undefined || it.org_id === orgId))
}

/** Deletes a stored check-in (the member chose to), and its saved photo. */
function remove(clientId) {
  const items = load()
  const item = items.find((it) => it.client_id === clientId)
  if (!item) return false
  removeSavedFile(item)
  save(items.filter((it) => it.client_id !== clientId))
  return true
}

module.exports = { STORAGE_KEY, MESSAGES, add, send, flush, list, remove, newClientId, body }
