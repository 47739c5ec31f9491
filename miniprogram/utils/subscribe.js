// Tops up the member's subscribe-message credits at natural moments (after a photo upload, after a duty check-in).
// WeChat allows one message per tap on "允许", and wx.requestSubscribeMessage only works inside a user's tap: so we
// ask with a modal first (its confirm is that tap), then post WeChat's answer per template to the server, which
// keeps the credit ledger. The server decides which templates to offer; the client asks at most once per
// OFFER_INTERVAL_MS and only when a template is running low.
const request = require('./request')

const STORAGE_KEY = 'subscribe.lastOfferAt'
const OFFER_INTERVAL_MS = 6 * 60 * 60 * 1000
const TOP_UP_BELOW = 3
const ANSWERS = ['accept', 'reject', 'ban', 'filter']

// wx.requestSubscribeMessage, called synchronously: inside a tap handler or a modal's confirm callback, or WeChat
// refuses it ("can only be invoked by user TAP gesture"). Resolves with WeChat's result, null when it failed.
function requestSubscribe(tmplIds) {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({ tmplIds, success: resolve, fail: () => resolve(null) })
  })
}

// The modal's confirm is the member's tap: the subscribe prompt opens from inside its callback.
function askThenSubscribe(content, tmplIds) {
  return new Promise((resolve) => {
    wx.showModal({
      title: '接收消息提醒',
      content,
      confirmText: '去开启',
      cancelText: '暂不',
      confirmColor: '#c8161d',
      success: (res) => (res.confirm ? requestSubscribe(tmplIds).then(resolve) : resolve(null)),
      fail: () => resolve(null)
    })
  })
}

// {template_id: answer} for the offered templates WeChat answered (the result also carries errMsg).
function answersOf(result, tmplIds) {
  const results = {}
  tmplIds.forEach((id) => {
    if (result && ANSWERS.includes(result[id])) results[id] = result[id]
  })
  return results
}

function offeredRecently(now) {
  const last = Number(wx.getStorageSync(STORAGE_KEY) || 0)
  return last > 0 && now - last < OFFER_INTERVAL_MS
}

async function post(result, tmplIds) {
  const results = answersOf(result, tmplIds)
  if (!Object.keys(results).length) return null
  return request.post('/api/me/subscriptions', { results }, { showError: false })
}

/** The templates the server offers, and those running low: {all: [id], low: [id]}. */
async function loadTemplates() {
  const current = await request.get('/api/me/subscriptions', null, { showError: false })
  const templates = current.templates || []
  return {
    all: templates.map((t) => t.template_id),
    low: templates.filter((t) => t.credits < TOP_UP_BELOW).map((t) => t.template_id)
  }
}

/**
 * From a tap handler (with template ids loaded before the tap): opens WeChat's prompt at once and posts the
 * answer. Resolves with the server's credits, or null. Never rejects.
 */
function subscribeNow(tmplIds) {
  if (typeof wx.requestSubscribeMessage !== 'function' || !tmplIds || !tmplIds.length) return Promise.resolve(null)
  return requestSubscribe(tmplIds)
    .then((result) => post(result, tmplIds))
    .catch(() => null)
}

/**
 * After a natural moment (a photo uploaded, a duty check-in): when a template runs low, and not offered within
 * OFFER_INTERVAL_MS, asks with a modal whose confirm opens WeChat's prompt; posts the answer. Resolves with the
 * server's credits ({templates: [{template_id, credits}]}), or null when nothing was asked or answered. Never
 * rejects: a failed offer must not spoil the moment it follows. options.reason: the modal's text.
 */
async function offerSubscribe(options) {
  const opts = options || {}
  if (typeof wx.requestSubscribeMessage !== 'function') return null
  const now = Date.now()
  if (offeredRecently(now)) return null
  try {
    const { low } = await loadTemplates()
    if (!low.length) return null
    wx.setStorageSync(STORAGE_KEY, now)
    const reason = opts.reason || '开启后，会议、值班和学习的待办将通过微信提醒你。'
    const result = await askThenSubscribe(reason, low)
    return result ? await post(result, low) : null
  } catch (err) {
    return null
  }
}

module.exports = {
  offerSubscribe,
  subscribeNow,
  loadTemplates,
  answersOf,
  STORAGE_KEY,
  OFFER_INTERVAL_MS,
  TOP_UP_BELOW
}
