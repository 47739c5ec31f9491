// Display helpers. The server sends local times as ISO strings ("2026-03-31T23:59:00+08:00"); they are cut,
// not parsed, because iOS cannot parse every ISO form and the server already chose the time zone.
function formatDateTime(iso) {
  if (!iso) return ''
  const date = iso.slice(0, 10)
  const time = iso.slice(11, 16)
  return time && time !== '00:00' ? `${date} ${time}` : date
}

function breadcrumbText(breadcrumb) {
  return (breadcrumb || []).map((node) => node.name).join(' / ')
}

module.exports = { formatDateTime, breadcrumbText }
