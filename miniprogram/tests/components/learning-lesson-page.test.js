/**
 * @jest-environment jsdom
 */
// pages/learning/lesson rendered by miniprogram-simulate against a scripted server, with jest's fake timers: the
// study session is opened, heartbeats go while the lesson is studied (video playing, article on screen, audio
// playing, slides open) and stop on pause, onHide and onUnload; the credited time and completion are the server's;
// its refusals are shown in Chinese.
const { loadPage, renderPage, text } = require('../support/simulate-page')
const { BASE, scriptedWx, refusal, installAudio, installDocuments } = require('../support/learning')

const PAGE_ID = loadPage('pages/learning/lesson')
const TOKEN = 'f'.repeat(32)
const flush = () => jest.advanceTimersByTimeAsync(0)

function lesson(kind, extra) {
  return Object.assign(
    {
      id: 32,
      course_id: 11,
      title: '党员的权利和义务',
      kind,
      kind_label: { video: '视频', audio: '音频', article: '图文', slides: '课件' }[kind],
      duration_s: 600,
      sort_order: 1,
      has_media: kind !== 'article',
      body: kind === 'article' ? '第一条 年满十八岁的中国工人……' : null,
      media_url: kind === 'article' ? null : '/api/learning/media/signed-token',
      media_type: null,
      progress: { credited_s: 150, position_s: 140, required_s: 540, percent: 28, completed: false, completed_at: null }
    },
    extra
  )
}

// The server: the lesson, a session, and heartbeat answers from `beats` (default: credit what is claimed).
function open(kind, { beats = [], start, query = {} } = {}) {
  const sent = { starts: [], beats: [] }
  let credited = 150
  scriptedWx({
    'GET /api/learning/lessons/32': lesson(kind),
    'POST /api/learning/lessons/32/start': (options) => {
      sent.starts.push(options.data)
      return start || { token: TOKEN, lesson: lesson(kind), heartbeat_s: 30 }
    },
    'POST /api/learning/heartbeats': (options) => {
      sent.beats.push(options.data)
      const next = beats.length ? beats.shift() : {}
      if (next.statusCode) return next
      const outcome = next.outcome || 'ok'
      if (outcome === 'ok') credited += options.data.elapsed
      return Object.assign(
        { outcome, message: outcome === 'ok' ? '已记录' : '上报过于频繁，本次不计时', credited_s: 0 },
        { lesson_credited_s: credited, completed: credited >= 540 },
        next
      )
    }
  })
  wx.setStorageSync('access_token', 'access')
  wx.setStorageSync('refresh_token', 'refresh')
  const audios = installAudio(wx)
  const documents = installDocuments(wx)
  const page = renderPage(PAGE_ID)
  return { page, sent, audios, documents, load: () => page.instance.onLoad(Object.assign({ id: '32' }, query)) }
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-07-01T01:00:00Z') })
})

afterEach(() => {
  jest.useRealTimers()
})

test('a video resumes from the saved position; heartbeats go while it plays and stop when paused', async () => {
  const { page, sent, load } = open('video')
  await load()
  const video = page.querySelector('.player')
  expect(video.dom.getAttribute('src') || page.instance.data.mediaUrl).toBe(BASE + '/api/learning/media/signed-token')
  expect(page.instance.data.startPosition).toBe(140)
  expect(text(page.querySelector('.progress-line'))).toContain('已记学习时长 2分30秒')
  expect(text(page.querySelector('.progress-line'))).toContain('完成需 9分钟')
  expect(sent.starts).toEqual([{}])
  expect(wx.getStorageSync('learning_recent_lesson')).toEqual({ id: 32, course_id: 11, title: '党员的权利和义务' })

  // Nothing is sent before the member presses play.
  await jest.advanceTimersByTimeAsync(60000)
  expect(sent.beats).toEqual([])

  page.instance.onVideoPlay()
  page.instance.onVideoTime({ detail: { currentTime: 170.4 } })
  await jest.advanceTimersByTimeAsync(30000)
  expect(sent.beats).toEqual([{ lesson_id: 32, token: TOKEN, seq: 1, position: 170, elapsed: 30, visible: true }])
  expect(text(page.querySelector('.progress-line'))).toContain('已记学习时长 3分钟')
  expect(text(page.querySelector('.status'))).toBe('学习中，正在记录时长')

  await jest.advanceTimersByTimeAsync(10000)
  await page.instance.onVideoPause()
  expect(sent.beats.map((b) => [b.seq, b.elapsed])).toEqual([[1, 30], [2, 10]])
  await jest.advanceTimersByTimeAsync(120000)
  expect(sent.beats).toHaveLength(2)
  expect(text(page.querySelector('.progress-line'))).toContain('已记学习时长 3分10秒')
})

test('the lesson completes when the server says so', async () => {
  const { page, load } = open('video', { beats: [{ lesson_credited_s: 545, completed: true }] })
  await load()
  page.instance.onVideoPlay()
  await jest.advanceTimersByTimeAsync(30000)
  expect(text(page.querySelector('.status'))).toBe('✓ 已完成')
  expect(wx.calls.toasts).toEqual(['本课时已完成'])
})

test('opened elsewhere: the page stops sending and says so in Chinese', async () => {
  const superseded = refusal(409, 'session_superseded', '该课时已在别处打开或已切换到其他课时，本设备的学习记录已停止')
  const { page, sent, load } = open('video', { beats: [{}, superseded] })
  await load()
  page.instance.onVideoPlay()
  await jest.advanceTimersByTimeAsync(60000)
  expect(text(page.querySelector('.notice'))).toBe('该课时已在其他设备或页面打开，本页已停止记录学习时长')
  expect(page.querySelector('.notice.stopped')).toBeTruthy()
  expect(text(page.querySelector('.restart'))).toBe('重新开始学习')
  await jest.advanceTimersByTimeAsync(120000)
  expect(sent.beats).toHaveLength(2)
  expect(wx.calls.toasts).toEqual([])
})

test('a burst answer is shown, and its seconds go with the next heartbeat', async () => {
  const { page, sent, load } = open('video', { beats: [{ outcome: 'too_soon' }] })
  await load()
  page.instance.onVideoPlay()
  await jest.advanceTimersByTimeAsync(30000)
  expect(text(page.querySelector('.notice'))).toBe('上报过于频繁，本次不计时')
  await jest.advanceTimersByTimeAsync(30000)
  expect(sent.beats.map((b) => b.elapsed)).toEqual([30, 60])
  expect(page.querySelectorAll('.notice')).toHaveLength(0)
})

test('an article is studied while on screen: onHide stops the clock, onShow resumes it, onUnload ends it', async () => {
  const { page, sent, load } = open('article')
  await load()
  expect(text(page.querySelector('.article'))).toContain('年满十八岁')
  await jest.advanceTimersByTimeAsync(30000)
  await jest.advanceTimersByTimeAsync(15000)
  await page.instance.onHide()
  expect(sent.beats.map((b) => [b.seq, b.elapsed, b.position])).toEqual([[1, 30, 0], [2, 15, 0]])
  await jest.advanceTimersByTimeAsync(600000)
  expect(sent.beats).toHaveLength(2)
  page.instance.onShow()
  await jest.advanceTimersByTimeAsync(20000)
  await page.instance.onUnload()
  expect(sent.beats.map((b) => [b.seq, b.elapsed])).toEqual([[1, 30], [2, 15], [3, 20]])
  await jest.advanceTimersByTimeAsync(600000)
  expect(sent.beats).toHaveLength(3)
})

test('audio plays from the saved position through an InnerAudioContext; pause stops the heartbeats', async () => {
  const { page, sent, audios, load } = open('audio')
  await load()
  expect(audios).toHaveLength(1)
  expect(audios[0].src).toBe(BASE + '/api/learning/media/signed-token')
  expect(audios[0].startTime).toBe(140)
  page.querySelector('.audio-toggle').dispatchEvent('tap')
  await flush()
  expect(text(page.querySelector('.audio-toggle'))).toBe('暂停')
  audios[0].currentTime = 175
  audios[0].fire('timeUpdate')
  await jest.advanceTimersByTimeAsync(30000)
  page.querySelector('.audio-toggle').dispatchEvent('tap')
  await jest.advanceTimersByTimeAsync(5000)
  expect(sent.beats.map((b) => [b.seq, b.elapsed, b.position])).toEqual([[1, 30, 175]])
  expect(text(page.querySelector('.audio-toggle'))).toBe('播放')
  await page.instance.onUnload()
  expect(audios[0].destroyed).toBe(true)
})

test('slides: the PDF is downloaded and opened; the time it is open counts, back on the page it stops', async () => {
  const { page, sent, documents, load } = open('slides')
  await load()
  page.querySelector('.open-slides').dispatchEvent('tap')
  await flush()
  await flush()
  expect(documents.downloads).toEqual([BASE + '/api/learning/media/signed-token'])
  expect(documents.opened).toEqual([{ filePath: 'http://tmp/slides.pdf', fileType: 'pdf' }])
  // The document viewer covers the page: onHide does not stop the clock.
  page.instance.onHide()
  await jest.advanceTimersByTimeAsync(45010) // the download and the viewer took a few (fake) milliseconds
  expect(sent.beats.map((b) => b.elapsed)).toEqual([30])
  page.instance.onShow()
  await flush()
  expect(sent.beats.map((b) => b.elapsed)).toEqual([30, 15])
  await jest.advanceTimersByTimeAsync(120000)
  expect(sent.beats).toHaveLength(2)
})

test('a lesson the member may not study cannot be opened, and says why', async () => {
  const { page, load } = open('video', { start: refusal(404, 'not_found', '课时不存在') })
  await load()
  expect(text(page.querySelector('.failed-text'))).toBe('课时不存在')
  expect(wx.calls.toasts).toEqual([])
})

test('proxy study: the member studied for is named on the start and on every heartbeat', async () => {
  const { page, sent, load } = open('video', { query: { member_id: '77' } })
  await load()
  page.instance.onVideoPlay()
  await jest.advanceTimersByTimeAsync(30000)
  expect(sent.starts).toEqual([{ member_id: 77 }])
  expect(sent.beats[0].member_id).toBe(77)
})

test('slides open and the whole app goes to the background: the clock stops there', async () => {
  const { page, sent, load } = open('slides')
  const listeners = []
  wx.onAppHide = (fn) => listeners.push(fn)
  wx.offAppHide = (fn) => listeners.splice(listeners.indexOf(fn), 1)
  await load()
  page.querySelector('.open-slides').dispatchEvent('tap')
  await flush()
  await flush()
  page.instance.onHide()
  await jest.advanceTimersByTimeAsync(20010)
  expect(listeners).toHaveLength(1)
  listeners[0]()
  await flush()
  expect(sent.beats.map((b) => b.elapsed)).toEqual([20])
  await jest.advanceTimersByTimeAsync(120000)
  page.instance.onShow()
  await flush()
  expect(sent.beats).toHaveLength(1)
  expect(listeners).toHaveLength(0)
})
