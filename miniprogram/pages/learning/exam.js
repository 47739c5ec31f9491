// Taking a test (or the daily quiz): the test's rules, then its questions — single choice, multiple choice,
// true/false — against the server's deadline, then the server's grade with the wrong-answer review. The questions
// come without answers (POST /exams/<id>/attempts); only the submit's reply carries answers and explanations.
// `?id=<exam>` opens a test; `?attempt_id=<id>` shows a submitted attempt again. The answers picked so far are kept
// in storage per attempt, so leaving the page and coming back (the same open attempt) keeps them. Where the member
// stands (attempts used/allowed, the latest attempt, whether the test's window is open) is the server's
// (GET /exams/<id>): the page only shows it.
const request = require('../../utils/request')
const dialog = require('../../utils/dialog')
const labels = require('../../utils/learning-labels')

const DRAFT_PREFIX = 'exam_draft_'

// The latest attempt as the server describes it (last_attempt of GET /exams/<id>).
function lastAttemptText(last) {
  if (!last) return ''
  if (last.open) return '有一次答题尚未交卷，可继续作答'
  if (!last.submitted_at) return '上次未交卷'
  if (last.late) return '上次超时交卷，记0分'
  if (last.passed === null || last.passed === undefined) return `上次得分 ${last.score}`
  return `上次得分 ${last.score}（${last.passed ? '合格' : '未合格'}）`
}

// Why a start would be refused now, in the server's terms: the window first, then the attempts.
function blockedText(exam) {
  if (exam.window === 'not_open') {
    const at = exam.opens_at ? `，${exam.opens_at.slice(0, 10)} ${exam.opens_at.slice(11, 16)} 开放` : ''
    return `测试尚未开始${at}`
  }
  if (exam.window === 'closed') return '测试已截止'
  if (exam.can_start === false) return exam.daily_quiz ? '今天已经答过题了，明天再来' : '参加次数已用完'
  return ''
}

function questionView(q, picked) {
  const chosen = picked || []
  return {
    id: q.id,
    kind: q.kind,
    kindLabel: q.kind_label || labels.label(labels.QUESTION_KIND_LABELS, q.kind),
    stem: q.stem,
    options: (q.options || []).map((o) => ({ key: o.key, text: o.text, picked: chosen.includes(o.key) })),
    answered: chosen.length > 0
  }
}

function keysText(keys, options) {
  if (!keys || !keys.length) return '未作答'
  const byKey = {}
  ;(options || []).forEach((o) => {
    byKey[o.key] = o.text
  })
  // True/false keys read as their text (正确/错误); choices as their letters.
  return keys.map((k) => (k === 'T' || k === 'F' ? byKey[k] || k : k)).join('、')
}

function reviewView(q) {
  const answer = q.answer || []
  const given = q.given || []
  return {
    id: q.id,
    kindLabel: q.kind_label || labels.label(labels.QUESTION_KIND_LABELS, q.kind),
    stem: q.stem,
    correct: Boolean(q.correct),
    options: (q.options || []).map((o) => ({
      key: o.key,
      text: o.text,
      mark: answer.includes(o.key) ? 'right' : given.includes(o.key) ? 'wrong' : ''
    })),
    givenText: keysText(given, q.options),
    answerText: keysText(answer, q.options),
    explanation: q.explanation || ''
  }
}

Page({
  data: {
    loading: true,
    failed: false,
    failedText: '',
    stage: 'intro', // intro | answering | result
    exam: null,
    attemptId: null,
    questions: [],
    answeredCount: 0,
    remainingText: '',
    submitting: false,
    result: null,
    review: [],
    wrongOnly: false,
    lastAttemptId: null
  },

  onLoad(options) {
    const query = options || {}
    this.examId = query.id ? Number(query.id) : null
    this.answers = {}
    this.submitted = false
    if (query.attempt_id) return this.showAttempt(Number(query.attempt_id))
    return this.loadExam()
  },

  onUnload() {
    this.stopTimer()
  },

  async loadExam() {
    this.setData({ loading: true, failed: false })
    try {
      const exam = await request.get(`/api/learning/exams/${this.examId}`, null, { showError: false })
      this.exam = exam
      const last = exam.last_attempt
      wx.setNavigationBarTitle({ title: exam.daily_quiz ? '每日答题' : exam.title })
      this.setData({
        loading: false,
        exam: {
          title: exam.title,
          dailyQuiz: exam.daily_quiz,
          questionCount: exam.question_count,
          timeText: labels.formatDuration(exam.time_limit_s),
          maxAttempts: exam.max_attempts,
          passScore: exam.pass_score,
          attemptsText: exam.daily_quiz ? '' : `已参加 ${exam.attempts_used || 0}/${exam.attempts_allowed} 次`,
          deadlineText: exam.deadline_at ? labels.deadlineInfo(exam.deadline_at).text : '',
          lastText: lastAttemptText(last),
          blockedText: blockedText(exam),
          startText: last && last.open ? '继续答题' : '开始答题'
        },
        lastAttemptId: last && last.submitted_at ? last.id : null
      })
    } catch (err) {
      this.setData({ loading: false, failed: true, failedText: err.message || '无法打开该测试' })
    }
  },

  async onStart() {
    let attempt
    try {
      attempt = await request.post(`/api/learning/exams/${this.examId}/attempts`, {})
    } catch (err) {
      // Refused (shown as a toast): show where the member now stands, as the server says.
      if (['attempts_used', 'exam_not_open', 'exam_closed'].includes(err.code)) await this.loadExam()
      return
    }
    if (attempt.submitted_at) {
      this.showResult(attempt)
      return
    }
    this.attempt = attempt
    this.submitted = false
    this.answers = wx.getStorageSync(DRAFT_PREFIX + attempt.id) || {}
    this.deadlineMs = labels.parseIso(attempt.deadline_at)
    this.setData({
      stage: 'answering',
      attemptId: attempt.id,
      questions: attempt.questions.map((q) => questionView(q, this.answers[String(q.id)])),
      answeredCount: this.countAnswered(attempt.questions)
    })
    this.startTimer()
  },

  countAnswered(questions) {
    return questions.filter((q) => (this.answers[String(q.id)] || []).length > 0).length
  },

  onOptionTap(e) {
    if (this.data.stage !== 'answering' || this.data.submitting) return
    const { qid, key } = e.currentTarget.dataset
    const index = this.data.questions.findIndex((q) => q.id === Number(qid))
    if (index < 0) return
    const question = this.data.questions[index]
    const current = this.answers[String(question.id)] || []
    let next
    if (question.kind === 'multiple') {
      next = current.includes(key) ? current.filter((k) => k !== key) : current.concat([key]).sort()
    } else {
      next = [key]
    }
    this.answers[String(question.id)] = next
    wx.setStorageSync(DRAFT_PREFIX + this.data.attemptId, this.answers)
    this.setData({
      [`questions[${index}]`]: questionView(question, next),
      answeredCount: this.countAnswered(this.data.questions)
    })
  },

  startTimer() {
    this.stopTimer()
    this.tick()
    this.timer = setInterval(() => this.tick(), 1000)
  },

  stopTimer() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  },

  tick() {
    const left = Math.max(0, Math.ceil((this.deadlineMs - Date.now()) / 1000))
    this.setData({ remainingText: labels.formatCountdown(left) })
    if (left <= 0 && !this.submitted) {
      this.stopTimer()
      wx.showToast({ title: '答题时间到，已自动交卷', icon: 'none' })
      this.submit()
    }
  },

  async onSubmitTap() {
    if (this.submitted || this.data.submitting) return
    const missing = this.data.questions.length - this.data.answeredCount
    const text = missing > 0 ? `还有${missing}题未作答，确定交卷吗？` : '交卷后不能再修改答案，确定交卷吗？'
    if (!(await dialog.confirm('交卷', text))) return
    await this.submit()
  },

  async submit() {
    if (this.submitted) return
    this.submitted = true
    this.setData({ submitting: true })
    try {
      const graded = await request.post(`/api/learning/attempts/${this.data.attemptId}/submit`, {
        answers: this.answers
      })
      this.finish(graded)
    } catch (err) {
      if (err.code === 'already_submitted') {
        await this.showAttempt(this.data.attemptId)
        return
      }
      // Nothing was graded (network, server): the member may submit again before the deadline.
      this.submitted = false
      this.setData({ submitting: false })
    }
  },

  finish(graded) {
    this.stopTimer()
    wx.removeStorageSync(DRAFT_PREFIX + graded.id)
    this.showResult(graded)
  },

  async showAttempt(attemptId) {
    this.setData({ loading: true, failed: false })
    try {
      const attempt = await request.get(`/api/learning/attempts/${attemptId}`, null, { showError: false })
      if (!this.exam) {
        this.examId = attempt.exam_id
        try {
          this.exam = await request.get(`/api/learning/exams/${attempt.exam_id}`, null, { showError: false })
        } catch (err) {
          this.exam = null
        }
      }
      this.setData({ loading: false })
      if (attempt.submitted_at) this.showResult(attempt)
      else {
        this.setData({ stage: 'intro' })
        await this.loadExam()
      }
    } catch (err) {
      this.setData({ loading: false, failed: true, failedText: err.message || '无法查看该答题记录' })
    }
  },

  showResult(attempt) {
    this.stopTimer()
    this.submitted = true
    const exam = this.exam || {}
    const total = attempt.questions.length
    const graded = exam.pass_score !== undefined && !exam.daily_quiz
    const passed = graded && !attempt.late && attempt.score >= exam.pass_score
    let verdict = ''
    if (attempt.late) verdict = '超过答题时间交卷，成绩记0分'
    else if (exam.daily_quiz) verdict = `答对${attempt.correct_count}题，每答对一题得1积分（每日有上限）`
    else if (exam.pass_score !== undefined) verdict = passed ? '恭喜，测试合格' : `未达到合格分数（${exam.pass_score}分）`
    this.setData({
      loading: false,
      stage: 'result',
      submitting: false,
      attemptId: attempt.id,
      result: {
        score: attempt.score,
        correctCount: attempt.correct_count,
        total,
        wrongCount: total - attempt.correct_count,
        late: Boolean(attempt.late),
        passed,
        verdict
      },
      review: attempt.questions.map(reviewView)
    })
  },

  onWrongOnlyToggle() {
    this.setData({ wrongOnly: !this.data.wrongOnly })
  },

  onLastAttemptTap() {
    return this.showAttempt(this.data.lastAttemptId)
  },

  onRetry() {
    this.answers = {}
    this.submitted = false
    this.setData({ stage: 'intro', result: null, review: [], wrongOnly: false })
    return this.loadExam()
  }
})
