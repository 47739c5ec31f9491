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

/**
 * A row of GET /api/learning/exams as the server sends it (docs/api-learning.md): a test with the member's
 * standing — attempts allowed and used (a daily quiz: today's), whether a start is possible, the latest attempt.
 * `last` fills last_attempt: {id, score?, passed?, open?, submitted?, late?}.
 */
function listedExam(id, title, { last, ...extra } = {}) {
  const submitted = last && !last.open && last.submitted !== false
  return Object.assign(
    {
      id,
      title,
      question_count: 10,
      full_score: 100,
      time_limit_s: 600,
      max_attempts: 1,
      pass_score: 60,
      daily_quiz: false,
      deadline_at: null,
      attempts_allowed: 1,
      attempts_used: last ? 1 : 0,
      can_start: !last || Boolean(last.open),
      last_attempt: last
        ? {
            id: last.id,
            attempt_no: 1,
            started_at: '2026-07-01T09:00:00+08:00',
            submitted_at: submitted ? '2026-07-01T09:08:00+08:00' : null,
            open: Boolean(last.open),
            score: submitted ? last.score : null,
            passed: submitted ? Boolean(last.passed) : null,
            late: Boolean(last.late)
          }
        : null
    },
    extra
  )
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

module.exports = { BASE, scriptedWx, refusal, installAudio, installDocuments, listedExam, tick }
