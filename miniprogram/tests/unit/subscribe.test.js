// utils/subscribe.js against a scripted server and a fake wx.requestSubscribeMessage that, like WeChat, works only
// when called synchronously inside a tap (here: a modal's confirm callback, or a tap handler).
const config = require('../../config')
const session = require('../../utils/session')
const subscribe = require('../../utils/subscribe')
const { createWx } = require('../support/fake-wx')

const BASE = 'https://api.test'
const TEMPLATE = 'SBX_TODO_REMINDER'

let credits
let posted
let inTap

function install({ answer = 'accept', confirm = true } = {}) {
  credits = 0
  posted = []
  inTap = false
  const wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (url === '/api/me/subscriptions' && options.method === 'GET') {
        return { statusCode: 200, data: { templates: [{ template_id: TEMPLATE, credits }] } }
      }
      if (url === '/api/me/subscriptions' && options.method === 'POST') {
        posted.push(options.data)
        if (options.data.results[TEMPLATE] === 'accept') credits += 1
        return { statusCode: 200, data: { templates: [{ template_id: TEMPLATE, credits }] } }
      }
      throw new Error('unexpected ' + url)
    }
  })
  // WeChat's modal: its confirm is a tap, for the duration of the success callback.
  wx.showModal = (options) => {
    wx.calls.modals.push({ title: options.title, content: options.content })
    setTimeout(() => {
      inTap = true
      try {
        options.success({ confirm, cancel: !confirm })
      } finally {
        inTap = false
      }
    }, 0)
  }
  wx.subscribeCalls = []
  wx.requestSubscribeMessage = (options) => {
    wx.subscribeCalls.push({ tmplIds: options.tmplIds, inTap })
    if (!inTap) {
      setTimeout(() => options.fail({ errMsg: 'requestSubscribeMessage:fail can only be invoked by user TAP gesture.' }))
      return
    }
    const result = { errMsg: 'requestSubscribeMessage:ok' }
    options.tmplIds.forEach((id) => {
      result[id] = answer
    })
    setTimeout(() => options.success(result), 0)
  }
  global.wx = wx
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 5, role: 'member' } })
  return wx
}

test('after a natural moment: asks, opens WeChat prompt inside the confirm tap, posts the answer', async () => {
  const wx = install()
  const res = await subscribe.offerSubscribe({ reason: '开启后提醒你' })
  expect(wx.calls.modals).toEqual([{ title: '接收消息提醒', content: '开启后提醒你' }])
  expect(wx.subscribeCalls).toEqual([{ tmplIds: [TEMPLATE], inTap: true }])
  expect(posted).toEqual([{ results: { [TEMPLATE]: 'accept' } }])
  expect(res).toEqual({ templates: [{ template_id: TEMPLATE, credits: 1 }] })
})

test('offers at most once per interval', async () => {
  const wx = install()
  await subscribe.offerSubscribe()
  expect(await subscribe.offerSubscribe()).toBeNull()
  expect(wx.calls.modals).toHaveLength(1)
  wx.setStorageSync(subscribe.STORAGE_KEY, Date.now() - subscribe.OFFER_INTERVAL_MS - 1)
  await subscribe.offerSubscribe()
  expect(wx.calls.modals).toHaveLength(2)
})

test('does not ask when credits are plentiful', async () => {
  const wx = install()
  credits = subscribe.TOP_UP_BELOW
  expect(await subscribe.offerSubscribe()).toBeNull()
  expect(wx.calls.modals).toHaveLength(0)
  expect(wx.subscribeCalls).toHaveLength(0)
})

test('a declined modal asks WeChat nothing; a reject answer is still posted (it grants nothing)', async () => {
  let wx = install({ confirm: false })
  expect(await subscribe.offerSubscribe()).toBeNull()
  expect(wx.subscribeCalls).toHaveLength(0)
  expect(posted).toEqual([])
  wx = install({ answer: 'reject' })
  const res = await subscribe.offerSubscribe()
  expect(posted).toEqual([{ results: { [TEMPLATE]: 'reject' } }])
  expect(res.templates[0].credits).toBe(0)
})

test('a server failure or an old WeChat never breaks the moment it follows', async () => {
  const wx = install()
  wx.request = (options) => setTimeout(() => options.fail({ errMsg: 'request:fail timeout' }), 0)
  expect(await subscribe.offerSubscribe()).toBeNull()
  install()
  delete global.wx.requestSubscribeMessage
  expect(await subscribe.offerSubscribe()).toBeNull()
})

test('subscribeNow opens the prompt synchronously (from a tap handler)', async () => {
  const wx = install()
  inTap = true
  const pending = subscribe.subscribeNow([TEMPLATE])
  inTap = false
  expect(wx.subscribeCalls).toEqual([{ tmplIds: [TEMPLATE], inTap: true }])
  expect(await pending).toEqual({ templates: [{ template_id: TEMPLATE, credits: 1 }] })
  expect(await subscribe.subscribeNow([])).toBeNull()
})

test('answersOf keeps only the offered templates WeChat answered', () => {
  expect(subscribe.answersOf({ errMsg: 'ok', A: 'accept', B: 'ban', C: 'accept' }, ['A', 'B', 'D'])).toEqual({
    A: 'accept',
    B: 'ban'
  })
  expect(subscribe.answersOf(null, ['A'])).toEqual({})
})
