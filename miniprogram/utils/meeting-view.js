// Meetings as the pages show them: the server's JSON (docs/api-meetings.md) turned into the few display fields the
// WXML needs — times cut rather than parsed, photo URLs made absolute, verdict flags as badges. No rules here.
const { formatDateTime, absoluteUrl } = require('./format')
const labels = require('./meeting-labels')

const PURPOSE_LABELS = { scene: '现场照片', minutes: '会议记录' }

function timeText(meeting) {
  const start = formatDateTime(meeting.starts_at)
  const end = meeting.ends_at || ''
  const sameDay = end.slice(0, 10) === (meeting.starts_at || '').slice(0, 10)
  return `${start} 至 ${sameDay ? end.slice(11, 16) : formatDateTime(end)}`
}

function venueText(meeting) {
  const venue = meeting.venue
  if (!venue) return meeting.venue_name || '未设置会场位置'
  return venue.name || meeting.venue_name || '组织活动场所'
}

function attendee(row) {
  return {
    memberId: row.member_id,
    name: row.name,
    status: row.status,
    statusLabel: row.status_label,
    reasonText: [row.absence_reason_label, row.absence_note].filter(Boolean).join('：'),
    signedText: row.signed_at ? formatDateTime(row.signed_at) : '',
    proxy: row.proxy,
    distanceText: row.distance_m > 0 ? `距会场 ${Math.round(row.distance_m)} 米` : '',
    badges: labels.flagBadges(row.flags)
  }
}

function photo(item) {
  const verdict = item.verdict || {}
  const urls = item.urls || {}
  return {
    id: item.id,
    thumb: absoluteUrl(urls.thumb),
    display: absoluteUrl(urls.display),
    purposeLabel: PURPOSE_LABELS[item.purpose] || '',
    takenText: formatDateTime(item.taken_at),
    uploader: item.uploaded_by ? item.uploaded_by.name : '',
    badges: labels.flagBadges(verdict.flags, verdict.reasons, verdict.flag_labels)
  }
}

function review(item) {
  return {
    id: item.id,
    reviewer: item.reviewer ? item.reviewer.name : '',
    decision: item.decision,
    decisionLabel: item.decision_label,
    comment: item.comment || '',
    score: item.score,
    timeText: formatDateTime(item.created_at)
  }
}

function meetingDetail(detail) {
  const attendance = detail.attendance || {}
  const rating = detail.rating || {}
  return {
    id: detail.id,
    title: detail.title,
    kindName: detail.kind ? detail.kind.name : '',
    orgName: detail.org_name,
    timeText: timeText(detail),
    venueText: venueText(detail),
    status: detail.status,
    statusLabel: detail.status_label,
    lateEntry: detail.late_entry,
    flagged: detail.flagged,
    topic: detail.topic || '',
    lecturer: detail.lecturer_name || '',
    host: detail.host ? detail.host.name : '',
    recorder: detail.recorder ? detail.recorder.name : '',
    minutes: detail.minutes || '',
    selfScore: detail.self_score,
    reviewScore: detail.review_score,
    ratingText: rating.count ? `${rating.average} 分（${rating.count} 人评价）` : '',
    attendanceText: `应到 ${attendance.expected || 0} 人，出席 ${attendance.present || 0} 人，缺席 ${attendance.absent || 0} 人`
  }
}

/** A row of the meeting list (list form of a meeting). */
function listRow(meeting) {
  const attendance = meeting.attendance || {}
  return {
    id: meeting.id,
    title: meeting.title,
    kindName: meeting.kind ? meeting.kind.name : '',
    orgName: meeting.org_name,
    timeText: formatDateTime(meeting.starts_at),
    status: meeting.status,
    statusLabel: meeting.status_label,
    lateEntry: meeting.late_entry,
    flagged: meeting.flagged,
    attendanceText: attendance.expected ? `出席 ${attendance.present}/${attendance.expected}` : '',
    photoCount: meeting.photo_count || 0
  }
}

module.exports = { meetingDetail, attendee, photo, review, listRow, timeText, venueText }
