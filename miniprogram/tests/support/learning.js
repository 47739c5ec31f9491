// What the learning page tests share: a `wx` whose requests a test scripts per route ("GET /api/learning/…"),
// a fake InnerAudioContext, and wx.downloadFile/openDocument for slides. Added to the fake wx of fake-wx.js
// without changing it.
const config = require('../../config')
const { createWx } = require('./fake-wx')

const BASE = 'https://api.test'

/**
 * Installs a fresh `wx` answering requests from `routes`: {'GET /api/learning/points/me': body | (options, body) =>
 * body | {statusCode, data}}. A body is sent with 200 unless the function returns {statusCode, data}. An unknown
 * route fails the test. Returns the wx.
 */
function scriptedWx(routes) {
  config.apiBase = BASE
  global.wx = createWx({
    request: (options) => {
      const path = options.url.slice(BASE.length).split('?')[0]
      const key = `${options.method} ${path}`
      if (!(key in routes)) throw new Error('unexpected request ' + key)
      const route = routes[key]
      const answer = typeof route === 'function' ? route(options) : route
      if (answer && answer.statusCode) return answer
      return { statusCode: 200, data: answer }
    }
  })
  return global.wx
}

/** An error envelope as the server sends it. */
function refusal(statusCode, code, message) {
  return { statusCode, data: { error: { code, message, fields: {} } } }
}

/** wx.createInnerAudioContext as a fake whose play/pause fire the registered callbacks. */
function installAudio(wx) {
  const made = []
  wx.createInnerAudioContext = () => {
    const handlers = {}
    const on = (name) => (fn) => {
      handlers[name] = fn
    }
    const ctx = {
      src: '',
      startTime: 0,
      currentTime: 0,
      destroyed: false,
      play() {
        if (handlers.play) handlers.play()
      },
      pause() {
        if (handlers.pause) handlers.pause()
      },
      destroy() {
        ctx.destroyed = true
      },
      onPlay: on('play'),
      onPause: on('pause'),
      onStop: on('stop'),
      onEnded: on('ended'),
      onTimeUpdate: on('timeUpdate'),
      onError: on('error'),
      fire(name) {
        if (handlers[name]) handlers[name]()
      }
    }
    made.push(ctx)
    return ctx
  }
  return made
}

/** wx.downloadFile answering `statusCode` with a temporary file, and wx.openDocument recording what it opens. */
function installDocuments(wx, { statusCode = 200, openFails = false } = {}) {
  const opened = []
  const downloads = []
  wx.downloadFile = (options) => {
    downloads.push(options.url)
    setTimeout(() => options.success({ statusCode, tempFilePath: 'http://tmp/slides.pdf' }), 0)
  }
  wx.openDocument = (options) => {
    opened.push({ filePath: options.filePath, fileType: options.fileType })
    setTimeout(() => (openFails ? options.fail({ errMsg: 'openDocument:fail' }) : options.success({})), 0)
  }
  return { opened, downloads }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

module.exports = { BASE, scriptedWx, refusal, installAudio, installDocuments, tick }
