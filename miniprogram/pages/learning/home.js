// Study home: the member's points today (and the day's login point, granted once per business day by the server),
// the daily quiz and its state today, the compulsory courses assigned to them with their deadlines and progress, the
// courses under way, the lesson last opened, the online tests open to them with the attempts left and the latest
// grade, and the channels — 网络学院 and the 主题教育 campaigns with their dates; a channel shows its courses.
// What is assigned, in what order, is the server's answer (GET /api/learning/courses: compulsory first;
// GET /api/learning/exams: daily quizzes first, then by closing time, with what a start would do now).
const request = require('../../utils/request')
const session = require('../../utils/session')
const nav = require('../../utils/nav')
const labels = require('../../utils/learning-labels')

const RECENT_KEY = 'learning_recent_lesson'
const COURSES_SHOWN = 50
const EXAMS_SHOWN = 20
const EXAM_PAGE = '/pages/learning/exam'

function courseRow(course) {
  const done = course.completed_lessons || 0
  return {
    id: course.id,
    title: course.title,
    channelName: course.channel.name,
    track: course.track,
    trackLabel: course.track_label || labels.label(labels.TRACK_LABELS, course.track),
    progressText: `${done}/${course.lesson_count} 课时`,
    percent: course.lesson_count ? Math.round((done * 100) / course.lesson_count) : 0,
    done: course.lesson_count > 0 && done >= course.lesson_count,
    deadline: labels.deadlineInfo(course.deadline)
  }
}

// The latest attempt as the server graded it: under way, left unsubmitted, late, or its score and verdict.
function attemptText(last) {
  if (!last) return ''
  if (last.open) return '答题中，可继续作答'
  if (!last.submitted_at) return '上次未交卷'
  if (last.late) return '上次超时交卷，记0分'
  return `上次得分 ${last.score}（${last.passed ? '及格' : '未及格'}）`
}

function examRow(exam) {
  const last = exam.last_attempt
  return {
    id: exam.id,
    title: exam.title,
    meta: `${exam.question_count}题 · 限时${labels.formatDuration(exam.time_limit_s)} · ${exam.pass_score}分及格`,
    attemptsText: `已参加${exam.attempts_used}/${exam.attempts_allowed}次`,
    deadline: labels.deadlineInfo(exam.deadline_at),
    lastText: attemptText(last),
    passed: Boolean(last && last.passed),
    action: last && last.open ? '继续答题' : exam.can_start ? '去答题' : '',
    resultId: last && last.submitted_at ? last.id : null
  }
}

// The daily quiz: one sitting a business day (attempts_used counts today's), then 今日已答 until tomorrow.
function dailyQuizRow(exam) {
  const last = exam.last_attempt
  let state
  if (last && last.open) state = '答题中，继续作答'
  else if (exam.can_start) state = `今日未答 · ${exam.question_count}题`
  else state = last && last.submitted_at ? `今日已答 · 得分 ${last.score}` : '今日已答'
  return { id: exam.id, title: exam.title, state, done: !exam.can_start }
}

function channelRow(channel) {
  return {
    id: channel.id,
    name: channel.name,
    kind: channel.kind,
    kindLabel: channel.kind_label || labels.label(labels.CHANNEL_KIND_LABELS, channel.kind),
    dates: labels.campaignDates(channel),
    description: channel.description || ''
  }
}

Page({
  data: {
    loading: true,
    failed: false,
    points: null,
    compulsory: [],
    inProgress: [],
    recent: null,
    dailyQuizzes: [],
    exams: [],
    channels: [],
    channelId: null,
    channelName: '',
    channelCourses: [],
    channelLoading: false
  },

  onLoad() {
    this.loaded = false
    this.loginGranted = false
  },

  onShow() {
    if (!session.isLoggedIn()) {
      wx.reLaunch({ url: nav.LOGIN_PAGE })
      return undefined
    }
    return this.load()
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  },

  // The day's login point: the server grants it once per business day, whatever the number of calls.
  async claimLoginPoint() {
    if (this.loginGranted) return
    try {
      const grant = await request.post('/api/learning/points/daily-login', {}, { showError: false })
      this.loginGranted = true
      if (grant.outcome === 'granted') wx.showToast({ title: `每日登录 +${grant.points}积分`, icon: 'none' })
    } catch (err) {
      // Not worth a toast: the next visit asks again.
    }
  },

  async load() {
    this.setData({ loading: !this.loaded, failed: false })
    await this.claimLoginPoint()
    try {
      const [points, courses, exams, channels] = await Promise.all([
        request.get('/api/learning/points/me'),
        request.get('/api/learning/courses', { page: 1, per_page: COURSES_SHOWN }),
        request.get('/api/learning/exams', { page: 1, per_page: EXAMS_SHOWN }),
        request.get('/api/learning/channels')
      ])
      this.loaded = true
      const rows = courses.items.map(courseRow)
      this.setData({
        loading: false,
        points: { today: points.today, total: points.total },
        compulsory: rows.filter((row) => row.track === 'compulsory' && !row.done),
        inProgress: rows.filter((row) => row.track !== 'compulsory' && !row.done && row.percent > 0),
        recent: wx.getStorageSync(RECENT_KEY) || null,
        dailyQuizzes: exams.items.filter((exam) => exam.daily_quiz).map(dailyQuizRow),
        exams: exams.items.filter((exam) => !exam.daily_quiz).map(examRow),
        channels: channels.items.map(channelRow)
      })
    } catch (err) {
      this.setData({ loading: false, failed: !this.loaded })
    }
  },

  // A channel's courses below the channel list; the same channel again closes them.
  async onChannelTap(e) {
    const id = Number(e.currentTarget.dataset.id)
    if (id === this.data.channelId) {
      this.setData({ channelId: null, channelCourses: [] })
      return
    }
    const channel = this.data.channels.find((c) => c.id === id)
    this.setData({ channelId: id, channelName: channel ? channel.name : '', channelCourses: [], channelLoading: true })
    try {
      const res = await request.get('/api/learning/courses', { channel_id: id, page: 1, per_page: COURSES_SHOWN })
      if (this.data.channelId === id) this.setData({ channelCourses: res.items.map(courseRow), channelLoading: false })
    } catch (err) {
      if (this.data.channelId === id) this.setData({ channelLoading: false })
    }
  },

  onCourseTap(e) {
    wx.navigateTo({ url: `/pages/learning/course?id=${e.currentTarget.dataset.id}` })
  },

  // A test (or the daily quiz) opens on its rules; starting there continues an attempt under way.
  onExamTap(e) {
    wx.navigateTo({ url: `${EXAM_PAGE}?id=${e.currentTarget.dataset.id}` })
  },

  // The latest graded attempt with its answers and explanations, as the server keeps it.
  onResultTap(e) {
    const { id, attempt } = e.currentTarget.dataset
    wx.navigateTo({ url: `${EXAM_PAGE}?id=${id}&attempt_id=${attempt}` })
  },

  onRecentTap() {
    wx.navigateTo({ url: `/pages/learning/lesson?id=${this.data.recent.id}` })
  },

  onPointsTap() {
    wx.navigateTo({ url: '/pages/learning/points' })
  },

  onRanksTap() {
    wx.navigateTo({ url: '/pages/learning/ranks' })
  }
})
