// Display helpers. The server sends local times as ISO strings ("2026-03-31T23:59:00+08:00"); they are cut,
// not parsed, because iOS cannot parse every ISO form and the server already chose the time zone.
const config = require('../config')

const QUARTER_NAMES = ['第一季度', '第二季度', '第三季度', '第四季度']

function formatDateTime(iso) {
  if (!iso) return ''
  const date = iso.slice(0, 10)
  const time = iso.slice(11, 16)
  return time && time !== '00:00' ? `${date} ${time}` : date
}

function breadcrumbText(breadcrumb) {
  return (breadcrumb || []).map((node) => node.name).join(' / ')
}

const pad = (n) => String(n).padStart(2, '0')

/**
 * A moment as ISO 8601 with the phone's own offset ("2026-07-01T09:30:05+08:00"): what the phone's clock said,
 * without turning it into UTC (the server reads the offset).
 */
function isoLocal(date) {
  const d = date || new Date()
  const offset = -d.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const abs = Math.abs(offset)
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  )
}

// The business time zone (Asia/Shanghai, no daylight saving): meetings are planned in it whatever the phone says.
const BUSINESS_OFFSET_MINUTES = 8 * 60

/** Today's date and the time now in the business time zone: {date: '2026-07-01', time: '09:30'}. */
function businessNow(now) {
  const shifted = new Date((now || new Date()).getTime() + BUSINESS_OFFSET_MINUTES * 60000)
  const iso = shifted.toISOString()
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) }
}

/** A date and a time picked in the form, as the server expects them: "2026-07-01T09:30:00+08:00". */
function businessIso(date, time) {
  return `${date}T${time}:00+08:00`
}

/** Photo and file URLs starting with "/" are relative to the API origin. */
function absoluteUrl(url) {
  if (!url) return ''
  return url.startsWith('/') ? config.apiBase + url : url
}

/** "2026-07" → 2026年7月, "2026Q3" → 2026年第三季度, "2026" → 2026年. */
function periodLabel(period) {
  if (!period) return ''
  let m = /^(\d{4})-(\d{2})$/.exec(period)
  if (m) return `${m[1]}年${Number(m[2])}月`
  m = /^(\d{4})Q([1-4])$/.exec(period)
  if (m) return `${m[1]}年${QUARTER_NAMES[Number(m[2]) - 1]}`
  return /^\d{4}$/.test(period) ? `${period}年` : period
}

module.exports = {
  formatDateTime,
  breadcrumbText,
  isoLocal,
  businessNow,
  businessIso,
  absoluteUrl,
  periodLabel,
  QUARTER_NAMES
}
