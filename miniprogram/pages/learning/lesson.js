// The lesson player: a video (<video>), audio (wx.createInnerAudioContext), an article, or slides (a PDF fetched
// with wx.downloadFile and shown by wx.openDocument). Opening the page starts a study session on the server
// (POST /lessons/<id>/start); while the lesson is really studied — media playing, the article on screen, the slides
// open — utils/heartbeat.js reports the time; it stops on pause, onHide and onUnload. The time credited and whether
// the lesson is complete are the server's answer, shown as given. `member_id` in the query is proxy study.
const request = require('../../utils/request')
const { absoluteUrl } = require('../../utils/format')
const { createHeartbeat } = require('../../utils/heartbeat')
const labels = require('../../utils/learning-labels')

const RECENT_KEY = 'learning_recent_lesson'
const MEDIA_KINDS = ['video', 'audio']

function progressView(lesson, credited, completed) {
  const required = (lesson.progress && lesson.progress.required_s) || lesson.duration_s || 1
  return {
    creditedS: credited,
    creditedText: labels.formatDuration(credited),
    requiredText: labels.formatDuration(required),
    percent: Math.min(100, Math.round((credited * 100) / required)),
    completed
  }
}

Page({
  data: {
    loading: true,
    failed: false,
    failedText: '',
    lesson: null,
    kindLabel: '',
    mediaUrl: '',
    startPosition: 0,
    playing: false,
    progress: null,
    notice: '',
    stopped: false,
    documentOpening: false
  },

  onLoad(options) {
    const query = options || {}
    this.lessonId = Number(query.id)
    this.memberId = query.member_id ? Number(query.member_id) : null
    this.position = 0
    this.heartbeat = null
    this.readingDocument = false
    return this.load()
  },

  async load() {
    // Opened again (重新开始学习): the old session says its last word first, then the new one supersedes it.
    if (this.heartbeat) await this.heartbeat.stop()
    if (this.audio) this.audio.destroy()
    this.audio = null
    this.setData({ loading: true, failed: false, playing: false })
    let lesson
    let session
    try {
      lesson = await request.get(`/api/learning/lessons/${this.lessonId}`, null, { showError: false })
      const body = this.memberId ? { member_id: this.memberId } : {}
      session = await request.post(`/api/learning/lessons/${this.lessonId}/start`, body, { showError: false })
    } catch (err) {
      this.setData({ loading: false, failed: true, failedText: labels.refusalText(err) })
      return
    }
    const progress = (session.lesson && session.lesson.progress) || lesson.progress
    this.lesson = Object.assign({}, lesson, { progress })
    this.position = progress.position_s || 0
    this.heartbeat = createHeartbeat({
      lessonId: lesson.id,
      token: session.token,
      intervalS: session.heartbeat_s || 30,
      memberId: this.memberId,
      send: (body) => request.post('/api/learning/heartbeats', body, { showError: false }),
      position: () => (MEDIA_KINDS.includes(lesson.kind) ? this.position : 0),
      onBeat: (answer) => this.onBeatAnswer(answer),
      onStop: (reason) => this.onHeartbeatStopped(reason),
      onTrouble: (err) => this.setData({ notice: labels.refusalText(err) })
    })
    wx.setStorageSync(RECENT_KEY, { id: lesson.id, course_id: lesson.course_id, title: lesson.title })
    wx.setNavigationBarTitle({ title: lesson.title })
    this.setData({
      loading: false,
      lesson: {
        id: lesson.id,
        title: lesson.title,
        kind: lesson.kind,
        body: lesson.body || '',
        courseId: lesson.course_id
      },
      kindLabel: lesson.kind_label || labels.label(labels.LESSON_KIND_LABELS, lesson.kind),
      mediaUrl: absoluteUrl(lesson.media_url),
      startPosition: this.position,
      progress: progressView(this.lesson, progress.credited_s, progress.completed),
      notice: '',
      stopped: false
    })
    if (lesson.kind === 'audio') this.setUpAudio()
    // An article is studied while it is on screen.
    if (lesson.kind === 'article') this.startClock()
  },

  startClock() {
    if (!this.heartbeat || this.data.stopped) return
    this.heartbeat.play()
    this.setData({ playing: true })
  },

  stopClock() {
    if (!this.heartbeat) return Promise.resolve(null)
    if (this.data.playing) this.setData({ playing: false })
    return this.heartbeat.pause()
  },

  onBeatAnswer(answer) {
    const progress = progressView(this.lesson, answer.lesson_credited_s, answer.completed)
    const notice = answer.outcome === 'ok' ? '' : answer.message || labels.label(labels.BEAT_OUTCOMES, answer.outcome)
    const justCompleted = answer.completed && !this.data.progress.completed
    this.setData({ progress, notice })
    if (justCompleted) wx.showToast({ title: '本课时已完成', icon: 'success' })
  },

  pauseMedia() {
    if (this.audio) this.audio.pause()
    if (this.data.lesson && this.data.lesson.kind === 'video' && wx.createVideoContext) {
      wx.createVideoContext('lesson-video', this).pause()
    }
  },

  onHeartbeatStopped(reason) {
    this.pauseMedia()
    this.setData({ stopped: true, playing: false, notice: labels.refusalText(reason) })
  },

  // Video: the clock follows the player.
  onVideoPlay() {
    this.startClock()
  },
  onVideoPause() {
    return this.stopClock()
  },
  onVideoTime(e) {
    this.position = e.detail.currentTime
  },
  onVideoError() {
    this.stopClock()
    this.setData({ notice: '视频加载失败，请检查网络后重试' })
  },

  setUpAudio() {
    const audio = wx.createInnerAudioContext()
    audio.src = this.data.mediaUrl
    audio.startTime = this.position
    audio.onPlay(() => this.startClock())
    audio.onPause(() => this.stopClock())
    audio.onStop(() => this.stopClock())
    audio.onEnded(() => this.stopClock())
    audio.onTimeUpdate(() => {
      this.position = audio.currentTime
    })
    audio.onError(() => {
      this.stopClock()
      this.setData({ notice: '音频加载失败，请检查网络后重试' })
    })
    this.audio = audio
  },

  onAudioToggle() {
    if (!this.audio || this.data.stopped) return
    if (this.data.playing) this.audio.pause()
    else this.audio.play()
  },

  // Slides: the PDF is fetched and shown by WeChat's document viewer; the time it is open is study time.
  onOpenSlides() {
    if (this.data.stopped || this.data.documentOpening) return
    this.setData({ documentOpening: true })
    wx.downloadFile({
      url: this.data.mediaUrl,
      success: (res) => {
        if (res.statusCode !== 200) {
          this.setData({ documentOpening: false, notice: '课件下载失败，请稍后重试' })
          return
        }
        wx.openDocument({
          filePath: res.tempFilePath,
          fileType: 'pdf',
          showMenu: false,
          success: () => {
            this.readingDocument = true
            this.setData({ documentOpening: false })
            this.startClock()
            this.watchAppHide()
          },
          fail: () => this.setData({ documentOpening: false, notice: '无法打开课件' })
        })
      },
      fail: () => this.setData({ documentOpening: false, notice: '课件下载失败，请检查网络后重试' })
    })
  },

  // While the document viewer covers the page, the page gets no onHide of its own when the whole app goes to the
  // background: the app's event stops the clock then.
  watchAppHide() {
    if (!wx.onAppHide || this.appHideListener) return
    this.appHideListener = () => {
      if (!this.readingDocument) return
      this.readingDocument = false
      this.stopClock()
    }
    wx.onAppHide(this.appHideListener)
  },

  unwatchAppHide() {
    if (this.appHideListener && wx.offAppHide) wx.offAppHide(this.appHideListener)
    this.appHideListener = null
  },

  onShow() {
    this.unwatchAppHide()
    if (this.readingDocument) {
      // Back from the document viewer: the slides are closed.
      this.readingDocument = false
      this.stopClock()
    } else if (this.hidden && this.lesson && this.lesson.kind === 'article') {
      this.startClock()
    }
    this.hidden = false
  },

  onHide() {
    this.hidden = true
    // The document viewer covers the page while the slides are read; anything else hiding it stops the clock.
    if (this.readingDocument) return undefined
    if (this.data.playing) this.pauseMedia()
    return this.stopClock()
  },

  onUnload() {
    this.unwatchAppHide()
    this.readingDocument = false
    if (this.audio) this.audio.destroy()
    const last = this.heartbeat ? this.heartbeat.stop() : Promise.resolve(null)
    this.setData({ playing: false })
    return last
  },

  onBackToCourse() {
    wx.navigateBack({ fail: () => wx.redirectTo({ url: `/pages/learning/course?id=${this.data.lesson.courseId}` }) })
  }
})
