// Chinese names and display helpers for the learning API (docs/api-learning.md). The server sends its own labels
// where it has them (track_label, kind_label, period_label, heartbeat messages); the names here are the fallbacks
// and the texts of things the server only sends as codes (ledger sources, refusals, question kinds).

const TRACK_LABELS = { compulsory: '必修', elective: '选修' }

const LESSON_KIND_LABELS = { video: '视频', audio: '音频', slides: '课件', article: '图文' }

const CHANNEL_KIND_LABELS = { academy: '网络学院', campaign: '主题教育' }

const QUESTION_KIND_LABELS = { single: '单选题', multiple: '多选题', judge: '判断题' }

// Where a ledger entry's points came from (`source_type`).
const SOURCE_LABELS = {
  login: '每日登录',
  lesson: '完成课时',
  study_day: '音视频学习时长',
  exam_attempt: '在线答题',
  correction: '积分更正'
}

// What the lesson page says about the server's answer to a heartbeat, or its refusal of one.
const BEAT_OUTCOMES = {
  ok: '学习时长已记录',
  background: '页面不在前台，本次不计时',
  too_soon: '上报过于频繁，本次不计时，时长将在下次记录',
  duplicate: '重复上报，已忽略'
}

const REFUSALS = {
  session_superseded: '该课时已在其他设备或页面打开，本页已停止记录学习时长',
  rate_limited: '操作过于频繁，请稍后再试',
  network_error: '网络不给力，学习时长稍后补记'
}

const PERIODS = [
  { value: 'day', label: '日榜' },
  { value: 'week', label: '周榜' },
  { value: 'month', label: '月榜' }
]

function label(table, code) {
  return table[code] || code || ''
}

/** 45 → "45秒", 150 → "2分30秒", 240 → "4分钟", 3725 → "1小时2分5秒"; 0 → "0秒". */
function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = s % 60
  let text = ''
  if (h) text += `${h}小时`
  // "4分钟", but "2分30秒": a bare 分 could read as points.
  if (m) text += rest ? `${m}分` : `${m}分钟`
  if (rest || !text) text += `${rest}秒`
  return text
}

const pad = (n) => String(n).padStart(2, '0')

/** The time left on a test: 599 → "09:59", 3725 → "1:02:05"; never negative. */
function formatCountdown(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0))
  const h = Math.floor(s / 3600)
  const mm = pad(Math.floor((s % 3600) / 60))
  const ss = pad(s % 60)
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

/**
 * Milliseconds since the epoch of an ISO 8601 time with its offset ("2026-07-01T09:30:05+08:00", "…Z"), parsed by
 * hand: some phones' Date cannot parse every ISO form. NaN for anything else.
 */
function parseIso(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|([+-])(\d{2}):?(\d{2}))$/.exec(iso || '')
  if (!m) return NaN
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] || 0))
  if (m[7] === 'Z') return utc
  const offset = (Number(m[9]) * 60 + Number(m[10])) * 60000
  return m[8] === '+' ? utc - offset : utc + offset
}

/** A course's deadline as the member reads it: "2026-07-31 23:59 截止" and whether it has passed. */
function deadlineInfo(iso, nowMs) {
  if (!iso) return { text: '', overdue: false }
  const at = parseIso(iso)
  const date = iso.slice(0, 10)
  const time = iso.slice(11, 16)
  const overdue = !Number.isNaN(at) && at < (nowMs === undefined ? Date.now() : nowMs)
  return { text: `${date} ${time} 截止${overdue ? '（已逾期）' : ''}`, overdue }
}

/** A campaign's dates: "2026-07-01 至 2026-09-30". */
function campaignDates(channel) {
  if (!channel || !channel.starts_on) return ''
  return `${channel.starts_on} 至 ${channel.ends_on || ''}`.trim()
}

/** Today's progress against a rule's daily cap: {text: "3/6", percent, capped}. */
function ruleProgress(rule) {
  const earned = rule.earned_today || 0
  if (!rule.daily_cap) return { text: `${earned}`, percent: 0, capped: false }
  return {
    text: `${earned}/${rule.daily_cap}`,
    percent: Math.min(100, Math.round((earned * 100) / rule.daily_cap)),
    capped: earned >= rule.daily_cap
  }
}

/** What a rule gives, in words: "每完成1篇得1分，每日上限6分" / "每240秒得1分…". */
function ruleText(rule) {
  const per = rule.unit_s ? `每学习${formatDuration(rule.unit_s)}得${rule.points}分` : `每次得${rule.points}分`
  return rule.daily_cap ? `${per}，每日上限${rule.daily_cap}分` : per
}

/** A ledger entry as one row: where it came from, how many points, on what day, and its marks. */
function ledgerRow(entry) {
  const points = entry.points > 0 ? `+${entry.points}` : `${entry.points}`
  const marks = []
  if (entry.proxy) marks.push('代学，不计入排行')
  if (entry.corrects_id) marks.push(`更正第${entry.corrects_id}号记录`)
  if (entry.note) marks.push(entry.note)
  return {
    id: entry.id,
    title: (entry.rule && entry.rule.name) || label(SOURCE_LABELS, entry.source_type),
    source: label(SOURCE_LABELS, entry.source_type),
    points,
    negative: entry.points < 0,
    day: entry.day,
    time: (entry.created_at || '').slice(11, 16),
    marks: marks.join('；')
  }
}

/** The sentence for a refused heartbeat or start (an ApiError). */
function refusalText(err) {
  if (!err) return ''
  if (err.code && REFUSALS[err.code]) return REFUSALS[err.code]
  if (err.status === 429) return REFUSALS.rate_limited
  return err.message || '学习记录暂时无法保存'
}

module.exports = {
  TRACK_LABELS,
  LESSON_KIND_LABELS,
  CHANNEL_KIND_LABELS,
  QUESTION_KIND_LABELS,
  SOURCE_LABELS,
  BEAT_OUTCOMES,
  REFUSALS,
  PERIODS,
  label,
  formatDuration,
  formatCountdown,
  parseIso,
  deadlineInfo,
  campaignDates,
  ruleProgress,
  ruleText,
  ledgerRow,
  refusalText
}
