/**
 * @jest-environment jsdom
 */
// pages/learning/home rendered by miniprogram-simulate against a scripted server: today's points (and the day's
// login point), the daily quiz's state today, compulsory courses with deadlines and progress, courses under way,
// the online tests with attempts and the latest grade, channels with campaign dates.
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')
const { scriptedWx, listedExam, tick } = require('../support/learning')

const PAGE_ID = loadPage('pages/learning/home')

const academy = { id: 1, name: '网络学院', kind: 'academy' }
const campaign = { id: 2, name: '党史学习教育', kind: 'campaign' }

function course(id, title, extra) {
  return Object.assign(
    {
      id,
      title,
      channel: academy,
      summary: null,
      owner_org: { id: 3, name: '甲一镇党委' },
      track: 'elective',
      track_label: '选修',
      deadline: null,
      status: 'published',
      status_label: '已发布',
      published_at: '2026-06-01T09:00:00+08:00',
      lesson_count: 4,
      completed_lessons: 0
    },
    extra
  )
}

const compulsory = (deadline, extra) => Object.assign({ track: 'compulsory', track_label: '必修', deadline }, extra)

const COURSES = [
  course(11, '学习党章', compulsory('2099-07-31T23:59:00+08:00', { lesson_count: 3, completed_lessons: 1 })),
  course(12, '廉政教育', compulsory('2020-01-31T23:59:00+08:00', { lesson_count: 2 })),
  course(13, '已学完的必修', compulsory('2099-01-01T00:00:00+08:00', { lesson_count: 2, completed_lessons: 2 })),
  course(14, '乡村振兴', { completed_lessons: 1 }),
  course(15, '未开始的选修')
]

const CHANNELS = [
  Object.assign({ code: 'academy', kind_label: '网络学院', description: null, starts_on: null, ends_on: null }, academy),
  Object.assign(
    { code: 'history', kind_label: '主题教育', description: '学党史、悟思想', starts_on: '2026-07-01', ends_on: '2026-09-30' },
    campaign
  )
]

const POINTS = { total: 120, today: 5, day: '2026-07-01', rules: [] }

const DAILY = listedExam(40, '每日一练', { daily_quiz: true, question_count: 5, time_limit_s: 300 })
const EXAMS = [
  DAILY,
  listedExam(41, '党章知识测试', {
    deadline_at: '2099-07-31T23:59:00+08:00',
    max_attempts: 2,
    attempts_allowed: 2,
    pass_score: 15,
    question_count: 4,
    last: { id: 901, score: 10, passed: false },
    can_start: true
  }),
  listedExam(42, '廉政知识测试', { last: { id: 902, score: 90, passed: true } }),
  listedExam(43, '正在答的测试', { last: { id: 903, open: true } }),
  listedExam(44, '新测试')
]

function open({ grant = { points: 1, outcome: 'granted' }, loggedIn = true, exams = EXAMS } = {}) {
  const channelQueries = []
  const examQueries = []
  scriptedWx({
    'POST /api/learning/points/daily-login': grant,
    'GET /api/learning/points/me': POINTS,
    'GET /api/learning/courses': (options) => {
      if (options.data.channel_id) {
        channelQueries.push(options.data.channel_id)
        return { items: [course(21, '党史故事', { channel: campaign })], meta: { total: 1, page: 1, per_page: 50 } }
      }
      return { items: COURSES, meta: { total: COURSES.length, page: 1, per_page: 50 } }
    },
    'GET /api/learning/exams': (options) => {
      examQueries.push(options.data)
      return { items: exams, meta: { total: exams.length, page: 1, per_page: 20 } }
    },
    'GET /api/learning/channels': { items: CHANNELS }
  })
  if (loggedIn) {
    wx.setStorageSync('access_token', 'access')
    wx.setStorageSync('refresh_token', 'refresh')
  }
  const page = renderPage(PAGE_ID)
  return { page, channelQueries, examQueries }
}

async function show(page) {
  page.instance.onLoad({})
  await page.instance.onShow()
  await tick()
}

test('today\'s points, the login point once, and the compulsory courses by deadline with progress', async () => {
  const { page } = open()
  await show(page)
  expect(texts(page, '.points-value').slice(0, 2)).toEqual(['5', '120'])
  expect(wx.calls.toasts).toEqual(['每日登录 +1积分'])
  const rows = page.querySelectorAll('.compulsory-row').map(text)
  expect(rows).toHaveLength(2)
  expect(rows[0]).toContain('学习党章')
  expect(rows[0]).toContain('2099-07-31 23:59 截止')
  expect(rows[0]).toContain('1/3 课时')
  expect(rows[1]).toContain('2020-01-31 23:59 截止（已逾期）')
  expect(page.querySelectorAll('.deadline.overdue')).toHaveLength(1)

  // Back on the page: the server is not asked for the login point again.
  await page.instance.onShow()
  const logins = wx.calls.requests.filter((r) => r.url.endsWith('/points/daily-login'))
  expect(logins).toHaveLength(1)
  expect(wx.calls.toasts).toHaveLength(1)
})

test('courses under way are the started, unfinished electives', async () => {
  const { page } = open({ grant: { points: 0, outcome: 'duplicate' } })
  await show(page)
  expect(page.querySelectorAll('.progress-row').map(text)).toEqual([expect.stringContaining('乡村振兴')])
  expect(wx.calls.toasts).toEqual([])
})

test('channels: 网络学院 and the campaigns with their dates; a channel shows its courses', async () => {
  const { page, channelQueries } = open()
  await show(page)
  const channels = page.querySelectorAll('.channel-row').map(text)
  expect(channels[0]).toContain('网络学院')
  expect(channels[1]).toContain('主题教育党史学习教育')
  expect(channels[1]).toContain('2026-07-01 至 2026-09-30')
  page.querySelectorAll('.channel-row')[1].dispatchEvent('tap')
  await tick()
  await tick()
  expect(channelQueries).toEqual([2])
  expect(page.querySelectorAll('.channel-course').map(text)).toEqual([expect.stringContaining('党史故事')])
  page.querySelectorAll('.channel-row')[1].dispatchEvent('tap')
  await tick()
  expect(page.querySelectorAll('.channel-course')).toHaveLength(0)
})

test('a course opens its page; the points bar opens points and the leaderboard', async () => {
  const { page } = open()
  await show(page)
  page.querySelectorAll('.compulsory-row')[0].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/course?id=11' })
  page.querySelectorAll('.points-item')[0].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation().url).toBe('/pages/learning/points')
  page.querySelectorAll('.points-item')[2].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation().url).toBe('/pages/learning/ranks')
})

test('the lesson last opened is offered to continue', async () => {
  const { page } = open()
  wx.setStorageSync('learning_recent_lesson', { id: 31, course_id: 11, title: '第一课 党章总纲' })
  await show(page)
  expect(text(page.querySelector('.recent'))).toContain('第一课 党章总纲')
  page.querySelector('.recent').dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation().url).toBe('/pages/learning/lesson?id=31')
})

test('online tests: rules, attempts left, the latest grade; a test opens on its page, a grade on its review', async () => {
  const { page, examQueries } = open()
  await show(page)
  expect(examQueries).toEqual([{ page: 1, per_page: 20 }])
  const rows = page.querySelectorAll('.exam-row').map(text)
  expect(rows).toHaveLength(4) // the daily quiz is not among them
  expect(rows[0]).toContain('党章知识测试')
  expect(rows[0]).toContain('2099-07-31 23:59 截止')
  expect(rows[0]).toContain('4题 · 限时10分钟 · 15分及格 · 已参加1/2次')
  expect(rows[0]).toContain('上次得分 10（未及格）')
  expect(rows[0]).toContain('去答题')
  expect(rows[1]).toContain('上次得分 90（及格）')
  expect(rows[1]).not.toContain('去答题') // no attempt left: the server said so
  expect(rows[2]).toContain('答题中，可继续作答')
  expect(rows[2]).toContain('继续答题')
  expect(rows[2]).not.toContain('查看结果') // nothing graded yet
  expect(rows[3]).toContain('已参加0/1次')
  expect(rows[3]).not.toContain('上次')
  expect(page.querySelectorAll('.last.passed')).toHaveLength(1)

  page.querySelectorAll('.exam-row')[0].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/exam?id=41' })
  const results = page.querySelectorAll('.result-link')
  expect(results).toHaveLength(2)
  results[1].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/exam?id=42&attempt_id=902' })
  expect(wx.calls.navigations).toHaveLength(2) // the row under the link did not open as well
})

test('the daily quiz: not yet answered today, under way, or answered with today\'s score', async () => {
  let view = open()
  await show(view.page)
  const quiz = view.page.querySelector('.daily-quiz')
  expect(text(quiz)).toContain('每日答题')
  expect(text(quiz)).toContain('今日未答 · 5题')
  expect(view.page.querySelectorAll('.daily-quiz.done')).toHaveLength(0)
  quiz.dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/exam?id=40' })

  view = open({ exams: [listedExam(40, '每日一练', { daily_quiz: true, last: { id: 7, open: true } })] })
  await show(view.page)
  expect(text(view.page.querySelector('.daily-quiz'))).toContain('答题中，继续作答')

  const answered = listedExam(40, '每日一练', { daily_quiz: true, last: { id: 8, score: 40, passed: false } })
  view = open({ exams: [answered] })
  await show(view.page)
  expect(text(view.page.querySelector('.daily-quiz'))).toContain('今日已答 · 得分 40')
  expect(view.page.querySelectorAll('.daily-quiz.done')).toHaveLength(1)
  expect(text(view.page.querySelector('.study-home'))).toContain('暂无可参加的测试')
})

test('without a session the member is sent to the login page', async () => {
  const { page } = open({ loggedIn: false })
  await show(page)
  expect(wx.__lastNavigation()).toEqual({ type: 'reLaunch', url: '/pages/login/login' })
  expect(wx.calls.requests).toEqual([])
})
