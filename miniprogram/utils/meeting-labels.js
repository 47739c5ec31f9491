// Chinese names for codes of the meetings API: photo flags (for the filter, and for badges when the server sends
// no label of its own), filter choices, sign-in results. Statuses, decisions and absence reasons come with the
// server's own labels; the lists here are only the choices offered in pickers.

const STATUS_OPTIONS = [
  { value: '', label: '全部状态' },
  { value: 'planned', label: '已计划' },
  { value: 'held', label: '已召开' },
  { value: 'submitted', label: '待审核' },
  { value: 'reviewed', label: '已审核' },
  { value: 'returned', label: '已退回' }
]

const FLAG_LABELS = {
  outside_venue: '不在会场范围',
  time_outside_window: '拍摄时间不在会议时段',
  exif_mismatch: '照片信息与上报不符',
  no_exif: '照片无拍摄信息',
  reused_photo: '疑似重复使用的照片',
  late_upload: '离线拍摄延迟上传',
  uncertain_position: '定位精度不足',
  no_position: '未提供拍摄位置'
}

const FLAG_OPTIONS = [{ value: '', label: '全部照片' }].concat(
  Object.keys(FLAG_LABELS).map((value) => ({ value, label: FLAG_LABELS[value] }))
)

const ABSENCE_REASONS = [
  { value: 'leave', label: '请假' },
  { value: 'illness', label: '病假' },
  { value: 'floating', label: '流动党员' },
  { value: 'other', label: '其他' }
]

const SIGN_IN_RESULTS = {
  inside: '签到成功',
  outside: '已签到，但不在会场范围内',
  uncertain: '已签到，定位精度不足',
  unchecked: '已签到（会议未设会场位置）'
}

const PERIOD_TYPES = [
  { value: 'month', label: '月度' },
  { value: 'quarter', label: '季度' },
  { value: 'year', label: '年度' }
]

function flagLabel(flag, serverLabels) {
  return (serverLabels && serverLabels[flag]) || FLAG_LABELS[flag] || flag
}

/**
 * A verdict's (or an attendee's) flags as badges: [{flag, label, reason}], with the server's labels when it sent
 * them (`verdict.flag_labels`) and its reasons as given.
 */
function flagBadges(flags, reasons, serverLabels) {
  return (flags || []).map((flag) => ({
    flag,
    label: flagLabel(flag, serverLabels),
    reason: (reasons && reasons[flag]) || ''
  }))
}

module.exports = {
  STATUS_OPTIONS,
  FLAG_LABELS,
  FLAG_OPTIONS,
  ABSENCE_REASONS,
  SIGN_IN_RESULTS,
  PERIOD_TYPES,
  flagLabel,
  flagBadges
}
