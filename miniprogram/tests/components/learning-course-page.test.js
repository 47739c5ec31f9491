/**
 * @jest-environment jsdom
 */
// pages/learning/course rendered by miniprogram-simulate against a scripted server: the course, its deadline, and
// each lesson with the member's progress; progress is asked for again when the page shows again.
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')
const { scriptedWx, refusal, tick } = require('../support/learning')

const PAGE_ID = loadPage('pages/learning/course')

function lesson(id, title, kind, kindLabel, duration, progress) {
  return {
    id,
    course_id: 11,
    title,
    kind,
    kind_label: kindLabel,
    duration_s: duration,
    sort_order: id,
    has_media: kind !== 'article',
    progress: Object.assign(
      { credited_s: 0, position_s: 0, required_s: Math.floor(duration * 0.9), percent: 0, completed: false, completed_at: null },
      progress
    )
  }
}

const COURSE = {
  id: 11,
  channel: { id: 1, name: '网络学院', kind: 'academy' },
  title: '学习党章',
  summary: '逐章学习党章。',
  owner_org: { id: 3, name: '甲一镇党委' },
  track: 'compulsory',
  track_label: '必修',
  deadline: '2099-07-31T23:59:00+08:00',
  status: 'published',
  status_label: '已发布',
  published_at: '2026-06-01T09:00:00+08:00',
  lesson_count: 3,
  completed_lessons: 1,
  lessons: [
    lesson(31, '总纲', 'article', '图文', 120, { credited_s: 120, percent: 100, completed: true }),
    lesson(32, '党员', 'video', '视频', 600, { credited_s: 150, position_s: 150, percent: 28 }),
    lesson(33, '组织制度', 'slides', '课件', 300)
  ],
  audience: null,
  can: { manage: false }
}

function open(answer) {
  let calls = 0
  scriptedWx({
    'GET /api/learning/courses/11': () => {
      calls += 1
      return typeof answer === 'function' ? answer(calls) : answer || COURSE
    }
  })
  const page = renderPage(PAGE_ID)
  page.instance.onLoad({ id: '11' })
  return { page, calls: () => calls }
}

test('the course with its track, deadline and lessons, each with the member\'s progress', async () => {
  const { page } = open()
  await page.instance.onShow()
  await tick()
  expect(text(page.querySelector('.course-title'))).toBe('必修学习党章')
  expect(text(page.querySelector('.deadline'))).toBe('2099-07-31 23:59 截止')
  expect(text(page.querySelector('.course-progress'))).toContain('已完成 1/3 个课时')
  const rows = page.querySelectorAll('.lesson-row').map(text)
  expect(rows[0]).toContain('1. 总纲')
  expect(rows[0]).toContain('已完成')
  expect(rows[1]).toContain('视频 · 10分钟 · 已学2分30秒')
  expect(rows[1]).toContain('28%')
  expect(rows[2]).toContain('未开始')
  expect(texts(page, '.continue')).toEqual(['继续学习'])
  expect(wx.calls.titles).toEqual(['学习党章'])
})

test('a lesson opens the player; 继续学习 opens the first lesson not completed', async () => {
  const { page } = open()
  await page.instance.onShow()
  await tick()
  page.querySelectorAll('.lesson-row')[2].dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation()).toEqual({ type: 'navigateTo', url: '/pages/learning/lesson?id=33' })
  page.querySelector('.continue').dispatchEvent('tap')
  await tick()
  expect(wx.__lastNavigation().url).toBe('/pages/learning/lesson?id=32')
})

test('back from a lesson the progress is the server\'s new one', async () => {
  const done = Object.assign({}, COURSE, {
    completed_lessons: 3,
    lessons: COURSE.lessons.map((l) => Object.assign({}, l, { progress: Object.assign({}, l.progress, { completed: true }) }))
  })
  const { page, calls } = open((n) => (n === 1 ? COURSE : done))
  await page.instance.onShow()
  await page.instance.onShow()
  await tick()
  expect(calls()).toBe(2)
  expect(text(page.querySelector('.course-progress'))).toContain('课程已学完')
  expect(page.querySelectorAll('.continue')).toHaveLength(0)
})

test('a course not meant for the member cannot be opened', async () => {
  const { page } = open(refusal(404, 'not_found', '课程不存在'))
  await page.instance.onShow()
  await tick()
  expect(text(page.querySelector('.empty'))).toContain('无法查看该课程')
  expect(wx.calls.toasts).toEqual(['课程不存在'])
})
