// Studying against the live backend, as 二村党员 (member_v2; tests/live_server.py gives 二村党支部 a compulsory
// course of video, article and slides lessons): the study home lists the course, the course page its lessons, the
// player opens a study session and heartbeats earn credited time; a session opened elsewhere stops this one. The
// server here credits heartbeats a second apart (learning_beat_min_gap_s = 1), so the test waits seconds, not
// minutes. Accounts: member_v2 studies (learning-exam.test.js also acts as member_v2, on tests and points only).
const { useLiveServer } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')
const { apiAs } = require('../support/meetings')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const beats = () => wx.calls.requests.filter((r) => r.url.endsWith('/api/learning/heartbeats'))

let live
let opened

beforeEach(async () => {
  live = useLiveServer()
  launchApp()
  opened = []
  const account = live.info.accounts.member_v2
  await loginWithAccount(account.username, live.info.password)
})

afterEach(() => Promise.all(opened.map((page) => page.onUnload && page.onUnload())))

async function open(url) {
  const page = await openPage(url)
  opened.push(page)
  return page
}

test('the assigned course from the study home, a video played with heartbeats, its credited time', async () => {
  const { learning } = live.info
  const home = await open('/pages/learning/home')
  expect(home.data.failed).toBe(false)
  const assigned = home.data.compulsory.find((row) => row.id === learning.course_id)
  expect(assigned).toMatchObject({ title: '学习党章', trackLabel: '必修', progressText: '0/3 课时' })
  expect(assigned.deadline.text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d 截止$/)
  expect(home.data.channels.map((c) => c.kindLabel)).toEqual(expect.arrayContaining(['网络学院', '主题教育']))
  const campaign = home.data.channels.find((c) => c.kind === 'campaign')
  expect(campaign.dates).toMatch(/^\d{4}-\d\d-\d\d 至 \d{4}-\d\d-\d\d$/)
  expect(home.data.points.today).toBeGreaterThanOrEqual(0)

  await home.onChannelTap(event({ dataset: { id: campaign.id } }))
  expect(home.data.channelCourses.map((c) => c.title)).toEqual(['党史故事'])

  home.onCourseTap(event({ dataset: { id: learning.course_id } }))
  const course = await followNavigation()
  opened.push(course)
  expect(course.data.course).toMatchObject({ title: '学习党章', lessonCount: 3, completedLessons: 0 })
  expect(course.data.lessons.map((l) => l.kindLabel)).toEqual(['视频', '图文', '课件'])

  course.onLessonTap(event({ dataset: { id: learning.lessons.video } }))
  expect(wx.__lastNavigation().url).toBe(`/pages/learning/lesson?id=${learning.lessons.video}`)
  const lesson = await followNavigation()
  opened.push(lesson)
  expect(lesson.data.failed).toBe(false)
  expect(lesson.data.lesson.kind).toBe('video')
  expect(lesson.data.mediaUrl).toMatch(new RegExp(`^${live.info.base_url}/api/learning/media/`))
  expect(lesson.data.progress).toMatchObject({ creditedS: 0, completed: false, requiredText: '54秒' })

  // The member plays, the video plays on, the member pauses: the seconds played go to the server.
  lesson.onVideoPlay()
  lesson.onVideoTime(event({ detail: { currentTime: 2.4 } }))
  await sleep(2300)
  const answer = await lesson.onVideoPause()
  expect(beats().map((r) => r.data)).toEqual([
    expect.objectContaining({ lesson_id: learning.lessons.video, seq: 1, position: 2, visible: true })
  ])
  // The seconds played (2, or 3 on a slow machine) are all credited: never more than the server's own clock.
  const first = beats()[0].data.elapsed
  expect(first).toBeGreaterThanOrEqual(2)
  expect(answer).toMatchObject({ outcome: 'ok', credited_s: first, lesson_credited_s: first, completed: false })
  expect(lesson.data.progress).toMatchObject({ creditedS: first, creditedText: `${first}秒`, completed: false })

  // Paused, nothing is sent; played again, the next heartbeat carries on from seq 2.
  await sleep(1200)
  expect(beats()).toHaveLength(1)
  lesson.onVideoPlay()
  await sleep(1200)
  const second = await lesson.onVideoPause()
  expect(beats().map((r) => r.data.seq)).toEqual([1, 2])
  expect(second.credited_s).toBeGreaterThanOrEqual(1)
  const total = first + second.credited_s
  expect(lesson.data.progress.creditedS).toBe(total)

  // The course page now shows the time credited on the video.
  const again = await open(`/pages/learning/course?id=${learning.course_id}`)
  const row = again.data.lessons.find((l) => l.id === learning.lessons.video)
  expect(row).toMatchObject({ started: true, completed: false, creditedText: `${total}秒` })
})

test('the same lesson opened on another phone: this one stops and says why; opening it again resumes', async () => {
  const { learning } = live.info
  const lesson = await open(`/pages/learning/lesson?id=${learning.lessons.article}`)
  expect(lesson.data.lesson.kind).toBe('article')
  expect(lesson.data.lesson.body).toContain('党员必须履行下列义务')
  expect(lesson.data.playing).toBe(true) // an article is studied while it is on screen

  const otherPhone = await apiAs('member_v2')
  await otherPhone.call('POST', `/api/learning/lessons/${learning.lessons.article}/start`, {})
  await sleep(1200)
  await lesson.onHide()
  expect(lesson.data.stopped).toBe(true)
  expect(lesson.data.notice).toBe('该课时已在其他设备或页面打开，本页已停止记录学习时长')
  expect(wx.calls.toasts).toEqual([])

  // 重新开始学习 opens a new session here: heartbeats are credited again.
  await lesson.load()
  expect(lesson.data.stopped).toBe(false)
  await sleep(1300)
  const answer = await lesson.onHide()
  const claimed = beats().pop().data.elapsed
  expect(claimed).toBeGreaterThanOrEqual(1)
  expect(answer).toMatchObject({ outcome: 'ok', credited_s: claimed })
  expect(lesson.data.progress.creditedS).toBe(claimed)
})
