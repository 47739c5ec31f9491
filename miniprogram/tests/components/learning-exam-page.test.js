/**
 * @jest-environment jsdom
 */
// pages/learning/exam rendered by miniprogram-simulate against a scripted server, with fake timers: the test's
// rules, questions without answers, picking single/multiple/true-false answers, the countdown and the automatic
// submission, the server's grade and the wrong-answer review; the daily quiz; where the member stands (attempts,
// the latest attempt, the test's window) as GET /exams/<id> says.
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')
const { scriptedWx, refusal, listedExam } = require('../support/learning')

const PAGE_ID = loadPage('pages/learning/exam')
const flush = () => jest.advanceTimersByTimeAsync(0)

// GET /api/learning/exams/<id>: the test with the member's standing and its window (docs/api-learning.md).
function detail(id, title, options) {
  return listedExam(id, title, Object.assign({ opens_at: null, window: 'open' }, options))
}
const EXAM = detail(5, '党章知识测试', { question_count: 3, max_attempts: 2, attempts_allowed: 2, pass_score: 6 })
const QUIZ = detail(6, '每日一练', { question_count: 3, daily_quiz: true, pass_score: 0 })
const ABCD = ['A', 'B', 'C', 'D'].map((key) => ({ key, text: `选项${key}` }))
const TF = [
  { key: 'T', text: '正确' },
  { key: 'F', text: '错误' }
]

const QUESTIONS = [
  { id: 101, kind: 'single', kind_label: '单选题', stem: '党的最高领导机关是？', options: ABCD },
  { id: 102, kind: 'multiple', kind_label: '多选题', stem: '党员的义务包括？', options: ABCD },
  { id: 103, kind: 'judge', kind_label: '判断题', stem: '预备期为一年。', options: TF }
]

const ATTEMPT = {
  id: 900,
  exam_id: 5,
  attempt_no: 1,
  started_at: '2026-07-01T09:00:00+08:00',
  deadline_at: '2026-07-01T09:10:00+08:00',
  submitted_at: null,
  questions: QUESTIONS
}

const KEY = { 101: ['B'], 102: ['A', 'C'], 103: ['T'] }

// Grades as the server does: exactly the answer keys; 2 points a question.
function graded(answers, extra) {
  const questions = QUESTIONS.map((q) => {
    const given = (answers[String(q.id)] || []).slice().sort()
    return Object.assign({}, q, {
      answer: KEY[q.id],
      explanation: `第${q.id}题的解析`,
      given,
      correct: JSON.stringify(given) === JSON.stringify(KEY[q.id])
    })
  })
  const correct = questions.filter((q) => q.correct).length
  return Object.assign({}, ATTEMPT, {
    submitted_at: '2026-07-01T09:05:00+08:00',
    questions,
    score: correct * 2,
    correct_count: correct,
    late: false
  }, extra)
}

function open({ exam = EXAM, start, submit } = {}) {
  const sent = { submits: [], starts: 0 }
  scriptedWx({
    [`GET /api/learning/exams/${exam.id}`]: exam,
    [`POST /api/learning/exams/${exam.id}/attempts`]: () => {
      sent.starts += 1
      return start || Object.assign({}, ATTEMPT, { exam_id: exam.id })
    },
    'POST /api/learning/attempts/900/submit': (options) => {
      sent.submits.push(options.data)
      return submit ? submit(options.data) : graded(options.data.answers)
    },
    'GET /api/learning/attempts/900': graded({ 101: ['B'], 102: ['A'], 103: ['T'] })
  })
  const page = renderPage(PAGE_ID)
  return { page, sent }
}

function pick(page, qid, key) {
  page.instance.onOptionTap({ currentTarget: { dataset: { qid, key } } })
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-07-01T01:00:00Z') })
})

afterEach(() => {
  jest.useRealTimers()
})

test('the rules first; the questions come without answers, with the time left', async () => {
  const { page } = open()
  await page.instance.onLoad({ id: '5' })
  const intro = text(page.querySelector('.intro'))
  expect(intro).toContain('党章知识测试')
  expect(intro).toContain('共 3 题，限时 10分钟')
  expect(intro).toContain('合格分数 6 分，最多可参加 2 次')
  expect(intro).toContain('已参加 0/2 次')
  expect(text(page.querySelector('.start'))).toBe('开始答题')
  expect(page.querySelector('.link')).toBeFalsy()
  await page.instance.onStart()
  expect(texts(page, '.stem')).toEqual(['单选题1. 党的最高领导机关是？', '多选题2. 党员的义务包括？', '判断题3. 预备期为一年。'])
  expect(text(page.querySelector('.countdown'))).toBe('10:00')
  await jest.advanceTimersByTimeAsync(2000)
  expect(text(page.querySelector('.countdown'))).toBe('09:58')
  expect(text(page.querySelector('.timer-bar'))).toContain('已答 0/3')
  expect(JSON.stringify(page.instance.data)).not.toContain('"answer"')
})

test('single, multiple and true/false answers; submit asks first, then shows the grade and the review', async () => {
  const { page, sent } = open()
  await page.instance.onLoad({ id: '5' })
  await page.instance.onStart()
  pick(page, 101, 'A')
  pick(page, 101, 'B') // a single choice replaces
  pick(page, 102, 'C')
  pick(page, 102, 'A')
  pick(page, 102, 'D')
  pick(page, 102, 'D') // a multiple choice toggles
  await flush()
  expect(page.querySelectorAll('.option.picked').map(text)).toEqual(['B选项B', 'A选项A', 'C选项C'])
  expect(text(page.querySelector('.timer-bar'))).toContain('已答 2/3')
  expect(wx.getStorageSync('exam_draft_900')).toEqual({ 101: ['B'], 102: ['A', 'C'] })

  const submitting = page.instance.onSubmitTap()
  await flush()
  await submitting
  expect(wx.calls.modals[0]).toMatchObject({ title: '交卷', content: '还有1题未作答，确定交卷吗？' })
  expect(sent.submits).toEqual([{ answers: { 101: ['B'], 102: ['A', 'C'] } }])

  expect(text(page.querySelector('.score'))).toBe('4分')
  expect(text(page.querySelector('.result'))).toContain('答对 2/3 题')
  expect(text(page.querySelector('.verdict'))).toBe('未达到合格分数（6分）')
  const items = page.querySelectorAll('.review-item').map(text)
  expect(items[2]).toContain('回答错误')
  expect(items[2]).toContain('你的答案：未作答')
  expect(items[2]).toContain('正确答案：正确')
  expect(items[1]).toContain('正确答案：A、C')
  expect(items[0]).toContain('解析：第101题的解析')
  expect(page.querySelectorAll('.option.right').map(text)).toEqual(['B选项B', 'A选项A', 'C选项C', 'T正确'])
  expect(wx.getStorageSync('exam_draft_900')).toBe('')

  page.querySelector('.filter').dispatchEvent('tap')
  await flush()
  expect(page.querySelectorAll('.review-item').map(text)).toEqual([expect.stringContaining('预备期为一年')])
  // The timer is gone with the submission.
  await jest.advanceTimersByTimeAsync(700000)
  expect(sent.submits).toHaveLength(1)
})

test('when the time is up the answers are submitted without asking', async () => {
  // An attempt opened again with 5 s left (each second re-renders the countdown: keep them few).
  const { page, sent } = open({ start: Object.assign({}, ATTEMPT, { deadline_at: '2026-07-01T09:00:05+08:00' }) })
  await page.instance.onLoad({ id: '5' })
  await page.instance.onStart()
  expect(text(page.querySelector('.countdown'))).toBe('00:05')
  pick(page, 101, 'B')
  pick(page, 103, 'T')
  await jest.advanceTimersByTimeAsync(4000)
  expect(sent.submits).toEqual([])
  await jest.advanceTimersByTimeAsync(1000)
  expect(wx.calls.modals).toEqual([])
  expect(wx.calls.toasts).toContain('答题时间到，已自动交卷')
  expect(sent.submits).toEqual([{ answers: { 101: ['B'], 103: ['T'] } }])
  expect(page.instance.data.stage).toBe('result')
})

test('a late submission is shown as the server graded it', async () => {
  const { page } = open({ submit: (body) => graded(body.answers, { score: 0, correct_count: 0, late: true }) })
  await page.instance.onLoad({ id: '5' })
  await page.instance.onStart()
  await page.instance.submit()
  expect(text(page.querySelector('.verdict'))).toBe('超过答题时间交卷，成绩记0分')
  expect(page.querySelector('.verdict.late')).toBeTruthy()
})

test('submitted already (another device): the page shows that attempt\'s result', async () => {
  const { page } = open({ submit: () => refusal(409, 'already_submitted', '本次测试已经交卷') })
  await page.instance.onLoad({ id: '5' })
  await page.instance.onStart()
  await page.instance.submit()
  expect(page.instance.data.stage).toBe('result')
  expect(text(page.querySelector('.result'))).toContain('答对 2/3 题')
})

test('the daily quiz: once a day, points per correct answer; a second try today is refused in Chinese', async () => {
  const { page, sent } = open({ exam: QUIZ, start: refusal(409, 'attempts_used', '今天已经答过题了，明天再来') })
  await page.instance.onLoad({ id: '6' })
  expect(wx.calls.titles).toEqual(['每日答题'])
  expect(text(page.querySelector('.intro'))).toContain('每天可答一次，每答对一题得1积分')
  await page.instance.onStart()
  expect(sent.starts).toBe(1)
  expect(wx.calls.toasts).toEqual(['今天已经答过题了，明天再来'])
  expect(page.instance.data.stage).toBe('intro')
})

test('the daily quiz result counts the correct answers', async () => {
  const { page } = open({ exam: QUIZ })
  await page.instance.onLoad({ id: '6' })
  await page.instance.onStart()
  pick(page, 101, 'B')
  await page.instance.submit()
  expect(text(page.querySelector('.verdict'))).toBe('答对1题，每答对一题得1积分（每日有上限）')
})

test('a past attempt opens straight to its review', async () => {
  const { page } = open()
  await page.instance.onLoad({ attempt_id: '900' })
  expect(page.instance.data.stage).toBe('result')
  expect(text(page.querySelector('.score'))).toBe('4分')
  expect(text(page.querySelector('.verdict'))).toBe('未达到合格分数（6分）')
})

test('the latest attempt comes from the server: its grade and a link to its review, on any phone', async () => {
  const exam = detail(5, '党章知识测试', {
    question_count: 3,
    max_attempts: 2,
    attempts_allowed: 2,
    pass_score: 6,
    last: { id: 900, score: 4, passed: false }
  })
  const { page } = open({ exam })
  await page.instance.onLoad({ id: '5' })
  const intro = text(page.querySelector('.intro'))
  expect(intro).toContain('已参加 1/2 次')
  expect(intro).toContain('上次得分 4（未合格）')
  expect(wx.getStorageSync('exam_last_attempt_5')).toBe('')
  page.querySelector('.link').dispatchEvent('tap')
  await flush()
  await flush()
  expect(page.instance.data.stage).toBe('result')
  expect(text(page.querySelector('.score'))).toBe('4分')
})

test('an attempt under way is continued; one left unsubmitted has no review', async () => {
  const exam = detail(5, '党章知识测试', { last: { id: 900, open: true } })
  const { page, sent } = open({ exam })
  await page.instance.onLoad({ id: '5' })
  expect(text(page.querySelector('.start'))).toBe('继续答题')
  expect(text(page.querySelector('.last-attempt'))).toBe('有一次答题尚未交卷，可继续作答')
  expect(page.querySelector('.link')).toBeFalsy()
  await page.instance.onStart()
  expect(sent.starts).toBe(1)
  expect(page.instance.data.stage).toBe('answering')

  const left = detail(5, '党章知识测试', { last: { id: 900, submitted: false } })
  const again = open({ exam: left }).page
  await again.instance.onLoad({ id: '5' })
  expect(text(again.querySelector('.last-attempt'))).toBe('上次未交卷')
  expect(again.querySelector('.link')).toBeFalsy()
  expect(text(again.querySelector('.blocked'))).toBe('参加次数已用完')
})

test('outside the window the start is closed, and a refusal shows the server\'s state again', async () => {
  const notYet = detail(5, '党章知识测试', { window: 'not_open', opens_at: '2026-07-02T09:00:00+08:00', can_start: false })
  const { page } = open({ exam: notYet })
  await page.instance.onLoad({ id: '5' })
  expect(text(page.querySelector('.blocked'))).toBe('测试尚未开始，2026-07-02 09:00 开放')

  // Open when the page was loaded, closed by the time of the tap: the server refuses and the page follows it.
  let current = EXAM
  scriptedWx({
    'GET /api/learning/exams/5': () => current,
    'POST /api/learning/exams/5/attempts': () => {
      current = detail(5, '党章知识测试', { window: 'closed', deadline_at: '2026-07-01T08:59:00+08:00', can_start: false })
      return refusal(409, 'exam_closed', '测试已截止')
    }
  })
  const late = renderPage(PAGE_ID)
  await late.instance.onLoad({ id: '5' })
  expect(late.querySelector('.blocked')).toBeFalsy()
  await late.instance.onStart()
  expect(wx.calls.toasts).toEqual(['测试已截止'])
  expect(late.instance.data.stage).toBe('intro')
  expect(text(late.querySelector('.blocked'))).toBe('测试已截止')
  expect(text(late.querySelector('.deadline'))).toBe('2026-07-01 08:59 截止（已逾期）')
})
