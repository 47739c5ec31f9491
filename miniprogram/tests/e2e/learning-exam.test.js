// Tests, points and leaderboards against the live backend, as 二村党员 (member_v2): a test drawn from the bank
// (tests/live_server.py), answered and graded on the server with the wrong-answer review, the daily quiz once a
// day, then the points ledger that explains what was earned and the branch leaderboard that counts it. The day's
// login point is claimed first, so learning-study.test.js (the same member, studying only for seconds) cannot
// change the points this file reads.
const { useLiveServer } = require('../support/live')
const { launchApp, openPage } = require('../support/harness')
const { loginWithAccount } = require('../support/flows')
const { apiAs } = require('../support/meetings')

let live
let opened

beforeAll(async () => {
  useLiveServer()
  const member = await apiAs('member_v2')
  await member.call('POST', '/api/learning/points/daily-login', {})
})

beforeEach(async () => {
  live = useLiveServer()
  launchApp()
  opened = []
  await loginWithAccount(live.info.accounts.member_v2.username, live.info.password)
})

afterEach(() => opened.forEach((page) => page.onUnload && page.onUnload()))

async function open(url) {
  const page = await openPage(url)
  opened.push(page)
  return page
}

// Picks the right answer for every question but the true/false one, which gets the wrong one.
function answerAllButJudge(page) {
  const { answers } = live.info.learning
  page.data.questions.forEach((q) => {
    const right = answers[q.stem]
    const keys = q.kind === 'judge' ? [right[0] === 'T' ? 'F' : 'T'] : right
    keys.forEach((key) => page.onOptionTap({ currentTarget: { dataset: { qid: q.id, key } } }))
  })
}

test('a test: questions without answers, graded on the server, the review with answers and explanations', async () => {
  const { learning } = live.info
  const exam = await open(`/pages/learning/exam?id=${learning.exam_id}`)
  expect(exam.data.exam).toMatchObject({ title: '党章知识测试', questionCount: 4, passScore: 6, maxAttempts: 3 })
  await exam.onStart()
  expect(exam.data.stage).toBe('answering')
  expect(exam.data.questions.map((q) => q.kind)).toEqual(['single', 'single', 'multiple', 'judge'])
  expect(exam.data.remainingText).toMatch(/^(10:00|09:5\d)$/)
  // What came over the wire before submitting carries no answers.
  const started = await apiAs('member_v2').then((api) => api.call('GET', `/api/learning/attempts/${exam.data.attemptId}`))
  started.questions.forEach((q) => {
    expect(q).not.toHaveProperty('answer')
    expect(q).not.toHaveProperty('explanation')
  })

  answerAllButJudge(exam)
  expect(exam.data.answeredCount).toBe(4)
  await exam.onSubmitTap()
  expect(wx.calls.modals.pop().content).toBe('交卷后不能再修改答案，确定交卷吗？')
  expect(exam.data.stage).toBe('result')
  // 2 + 2 (single) + 3 (multiple); the true/false question wrong: 7 of 8, above the pass mark of 6.
  expect(exam.data.result).toMatchObject({ score: 7, correctCount: 3, total: 4, late: false, passed: true })
  expect(exam.data.result.verdict).toBe('恭喜，测试合格')
  const wrong = exam.data.review.filter((q) => !q.correct)
  expect(wrong).toHaveLength(1)
  expect(wrong[0].stem).toMatch(/^判断题/)
  expect(wrong[0].answerText).toBe(learning.answers[wrong[0].stem][0] === 'T' ? '正确' : '错误')
  expect(wrong[0].explanation).toBe(`${wrong[0].stem}的解析`)
  expect(wrong[0].options.find((o) => o.mark === 'wrong')).toBeTruthy()

  // A second submission of the same attempt is refused by the server; the page shows the graded attempt.
  await exam.submit()
  expect(exam.data.stage).toBe('result')
  const again = await open(`/pages/learning/exam?attempt_id=${exam.data.attemptId}`)
  expect(again.data.result).toMatchObject({ score: 7, correctCount: 3 })
})

test('the daily quiz once a day: points per correct answer; a second try today is refused', async () => {
  const { learning } = live.info
  const quiz = await open(`/pages/learning/exam?id=${learning.quiz_id}`)
  expect(quiz.data.exam.dailyQuiz).toBe(true)
  await quiz.onStart()
  const [first, second] = quiz.data.questions
  const answer = (q, keys) => keys.forEach((key) => quiz.onOptionTap({ currentTarget: { dataset: { qid: q.id, key } } }))
  answer(first, learning.answers[first.stem])
  answer(second, [learning.answers[second.stem][0] === 'A' ? 'B' : 'A'])
  await quiz.onSubmitTap()
  expect(quiz.data.result).toMatchObject({ correctCount: 1, total: 2 })
  expect(quiz.data.result.verdict).toBe('答对1题，每答对一题得1积分（每日有上限）')

  const later = await open(`/pages/learning/exam?id=${learning.quiz_id}`)
  await later.onStart()
  expect(later.data.stage).toBe('intro')
  expect(wx.__lastToast()).toBe('今天已经答过题了，明天再来')
})

test('my points explain what was earned, and the branch leaderboard counts them', async () => {
  const points = await open('/pages/learning/points')
  expect(points.data.failed).toBe(false)
  const byCode = {}
  points.data.rules.forEach((rule) => {
    byCode[rule.code] = rule
  })
  expect(byCode.login).toMatchObject({ text: '1/1', capped: true })
  expect(Object.keys(byCode)).toEqual(expect.arrayContaining(['login', 'article_read', 'media_time', 'daily_quiz']))
  const sources = points.data.rows.map((row) => row.source)
  expect(sources).toContain('每日登录')
  expect(sources).toContain('在线答题')
  expect(points.data.rows.every((row) => /^[+-]\d+$/.test(row.points) && /^\d{4}-\d\d-\d\d$/.test(row.day))).toBe(true)
  const earned = points.data.rows.filter((row) => row.day === points.data.day)
  const sum = earned.reduce((total, row) => total + Number(row.points), 0)
  expect(points.data.today).toBe(sum)

  const ranks = await open('/pages/learning/ranks')
  expect(ranks.data.board).toMatchObject({ orgName: '二村党支部', kind: 'members', periodLabel: '日榜' })
  expect(ranks.data.scopes[0].name).toBe('本支部（二村党支部）')
  const mine = ranks.data.items.find((item) => item.mine)
  expect(mine).toMatchObject({ name: '二村党员', points: points.data.today })
  const ranked = ranks.data.items.map((item) => item.points)
  expect(ranked).toEqual(ranked.slice().sort((a, b) => b - a))
  expect(ranks.data.items.map((item) => item.name)).toContain('二村书记')

  await ranks.onPeriodTap({ currentTarget: { dataset: { period: 'month' } } })
  expect(ranks.data.board.periodLabel).toBe('月榜')
  expect(ranks.data.items.find((item) => item.mine).points).toBeGreaterThanOrEqual(points.data.today)
})
