// A course: its channel, track (必修/选修) and deadline, and its lessons with the member's progress in each, as
// GET /api/learning/courses/<id> gives them. Progress is reloaded whenever the page shows again (back from a lesson).
const request = require('../../utils/request')
const labels = require('../../utils/learning-labels')

function lessonRow(lesson) {
  const p = lesson.progress || {}
  return {
    id: lesson.id,
    title: lesson.title,
    kindLabel: lesson.kind_label || labels.label(labels.LESSON_KIND_LABELS, lesson.kind),
    durationText: labels.formatDuration(lesson.duration_s),
    percent: p.percent || 0,
    completed: Boolean(p.completed),
    creditedText: labels.formatDuration(p.credited_s || 0),
    started: (p.credited_s || 0) > 0
  }
}

Page({
  data: {
    loading: true,
    failed: false,
    course: null,
    lessons: [],
    deadline: { text: '', overdue: false }
  },

  onLoad(options) {
    this.courseId = Number((options || {}).id)
    this.loaded = false
  },

  onShow() {
    return this.load()
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  },

  async load() {
    this.setData({ loading: !this.loaded, failed: false })
    try {
      const course = await request.get(`/api/learning/courses/${this.courseId}`)
      this.loaded = true
      const lessons = course.lessons.map(lessonRow)
      this.setData({
        loading: false,
        course: {
          id: course.id,
          title: course.title,
          summary: course.summary || '',
          channelName: course.channel.name,
          ownerName: course.owner_org.name,
          track: course.track,
          trackLabel: course.track_label || labels.label(labels.TRACK_LABELS, course.track),
          lessonCount: course.lesson_count,
          completedLessons: course.completed_lessons || 0,
          done: course.lesson_count > 0 && course.completed_lessons >= course.lesson_count
        },
        lessons,
        deadline: labels.deadlineInfo(course.deadline)
      })
      wx.setNavigationBarTitle({ title: course.title })
    } catch (err) {
      this.setData({ loading: false, failed: !this.loaded })
    }
  },

  onLessonTap(e) {
    wx.navigateTo({ url: `/pages/learning/lesson?id=${e.currentTarget.dataset.id}` })
  },

  // The first lesson not yet completed.
  onContinue() {
    const next = this.data.lessons.find((lesson) => !lesson.completed) || this.data.lessons[0]
    if (next) wx.navigateTo({ url: `/pages/learning/lesson?id=${next.id}` })
  }
})
