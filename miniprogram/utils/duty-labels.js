// Chinese names and display text for the duty check-in API (docs/api-duty.md): results, timings, spoof signals,
// board counts. The server sends its own labels (result_label, timing_label, flag_labels) and reasons with each
// check-in; these are the fallback when it did not (a queued check-in not yet judged) and the names the pickers
// and the board need.

const RESULT_LABELS = { inside: '在范围内', outside: '不在范围内', uncertain: '无法确定' }
const TIMING_LABELS = { on_time: '正常', early: '早到/早退', late: '迟到', off_roster: '非值班时间' }
const KIND_LABELS = { checkin: '签到', checkout: '签退' }
// The same words as services/duty_signals.py FLAG_LABELS (tests/unit/duty-labels.test.js keeps them in step).
const FLAG_LABELS = {
  repeated_position: '多日位置完全相同',
  constant_accuracy: '定位精度始终不变',
  impossible_speed: '移动速度不可能',
  shared_device: '多人共用设备',
  late_upload: '延迟上传',
  reused_photo: '照片重复使用'
}
// The board's counts, in the order they are shown.
const BOARD_COUNTS = [
  { key: 'rostered', label: '应到' },
  { key: 'present', label: '在岗' },
  { key: 'late', label: '迟到' },
  { key: 'absent', label: '缺勤' },
  { key: 'unconfirmed', label: '未确认' },
  { key: 'on_leave', label: '请假出差' },
  { key: 'outside', label: '范围外' },
  { key: 'flagged', label: '异常' }
]
const WEEKDAYS = ['周一', '周二', '周三', '周四', '周五', '周六', '周日']

/** '36 米' under a kilometre, '1.2 公里' above; '' without a distance. */
function distanceText(metres) {
  if (metres === null || metres === undefined || Number.isNaN(Number(metres))) return ''
  const m = Math.max(0, Number(metres))
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`
}

/** The verdict in one line: 在签到范围内 / 不在签到范围内，相距 320 米 / 无法确定是否在范围内. */
function resultText(result, distanceM) {
  if (result === 'inside') return '在签到范围内'
  if (result === 'outside') {
    const distance = distanceText(distanceM)
    return distance ? `不在签到范围内，相距 ${distance}` : '不在签到范围内'
  }
  if (result === 'uncertain') return '无法确定是否在范围内'
  return ''
}

function flagLabel(flag, serverLabels) {
  return (serverLabels && serverLabels[flag]) || FLAG_LABELS[flag] || flag
}

/** A check-in's signals as badges for components/flag-badges: [{flag, label, reason}]. */
function flagBadges(checkin) {
  const reasons = checkin.flag_reasons || {}
  return (checkin.flags || []).map((flag) => ({
    flag,
    label: flagLabel(flag, checkin.flag_labels),
    reason: reasons[flag] || ''
  }))
}

/** '2026-07-08T09:05:00+08:00' → '07-08 09:05'; the time only when `timeOnly`. Cut, not parsed (see format.js). */
function shortTime(iso, timeOnly) {
  if (!iso) return ''
  return timeOnly ? iso.slice(11, 16) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`
}

/** A check-in from the API as the pages show it. */
function checkinView(c) {
  return {
    id: c.id,
    clientId: c.client_id,
    orgId: c.org_id,
    kind: c.kind,
    kindLabel: KIND_LABELS[c.kind] || c.kind,
    result: c.result,
    resultLabel: c.result_label || RESULT_LABELS[c.result] || c.result,
    resultText: resultText(c.result, c.distance_m),
    resultReason: c.result_reason || '',
    distanceText: c.result === 'inside' ? '' : distanceText(c.distance_m),
    timing: c.timing,
    timingLabel: c.timing_label || TIMING_LABELS[c.timing] || c.timing,
    timingReason: c.timing_reason || '',
    readAt: c.read_at,
    dutyDate: c.duty_date,
    timeText: shortTime(c.read_at),
    clockText: shortTime(c.read_at, true),
    remark: c.remark || '',
    badges: flagBadges(c),
    flagged: (c.flags || []).length > 0,
    photoId: c.photo_id || null
  }
}

/** A roster shift: '周一 08:30–17:30'; '今天不值班' without one. */
function shiftText(shift) {
  if (!shift) return '今天不值班'
  return `${WEEKDAYS[shift.weekday] || ''} ${shift.starts_at}–${shift.ends_at}`.trim()
}

/** An approved leave or business trip: '请假 07-01 至 07-03'. */
function exceptionText(exception) {
  if (!exception) return ''
  return `${exception.kind_label || ''} ${exception.starts_on.slice(5)} 至 ${exception.ends_on.slice(5)}`.trim()
}

/** [{key, label, value}] of a board row's counts. */
function boardCounts(row) {
  return BOARD_COUNTS.map((count) => ({ key: count.key, label: count.label, value: (row && row[count.key]) || 0 }))
}

/** One cadre's status on the board, most telling first: ['在岗', '迟到', '范围外'] and so on. */
function cadreStatus(row) {
  const out = []
  if (row.present) out.push({ key: 'present', label: '在岗' })
  if (row.unconfirmed) out.push({ key: 'unconfirmed', label: '未确认' })
  if (row.absent) out.push({ key: 'absent', label: '缺勤' })
  if (row.late) out.push({ key: 'late', label: '迟到' })
  if (row.on_leave) out.push({ key: 'on_leave', label: '请假出差' })
  if (!row.rostered && !row.on_leave) out.push({ key: 'off', label: '今日不值班' })
  if (row.outside) out.push({ key: 'outside', label: '范围外' })
  if (row.flagged) out.push({ key: 'flagged', label: '异常' })
  return out
}

/** 'YYYY-MM' of a 'YYYY-MM-DD' date, and the first and last day of that month. */
function monthRange(month) {
  const [year, mon] = month.split('-').map(Number)
  const last = new Date(Date.UTC(year, mon, 0)).getUTCDate()
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` }
}

module.exports = {
  RESULT_LABELS,
  TIMING_LABELS,
  KIND_LABELS,
  FLAG_LABELS,
  BOARD_COUNTS,
  WEEKDAYS,
  distanceText,
  resultText,
  flagLabel,
  flagBadges,
  shortTime,
  checkinView,
  shiftText,
  exceptionText,
  boardCounts,
  cadreStatus,
  monthRange
}
