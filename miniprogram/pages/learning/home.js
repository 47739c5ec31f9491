// Study home: the member's points today (and the day's login point, granted once per business day by the server),
// the compulsory courses assigned to them with their deadlines and progress, the courses under way, the lesson
// last opened, and the channels — 网络学院 and the 主题教育 campaigns with their dates; a channel shows its courses.
// What is assigned, in what order, is the server's answer (GET /api/learning/courses: compulsory first).
const request = require('../../utils/request')
const session = require('../../utils/session')
const nav = require('../../utils/nav')
const labels = require('../../utils/learning-labels')

const RECENT_KEY = 'learning_recent_lesson'
const COURSES_SHOWN = 50

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
      const [points, courses, channels] = await Promise.all([
        request.get('/api/learning/points/me'),
        request.get('/api/learning/courses', { page: 1, per_page: COURSES_SHOWN }),
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
