// Setting the scene for the meeting e2e tests straight through the API (as another phone would): logging an
// account in, creating a meeting around the current time, holding and submitting it.
const { serverInfo, httpRequest } = require('./live')

/** An API client for one account: call(method, path, data) → body, throwing on anything but 2xx. */
async function apiAs(accountName) {
  const info = serverInfo()
  const account = info.accounts[accountName]
  const login = await httpRequest({
    url: info.base_url + '/api/auth/login',
    method: 'POST',
    data: { username: account.username, password: account.password || info.password },
    header: { 'content-type': 'application/json' }
  })
  if (login.statusCode !== 200) throw new Error(`${accountName} cannot log in: ${JSON.stringify(login.data)}`)
  const token = login.data.access_token
  const raw = (method, path, data) =>
    httpRequest({
      url: info.base_url + path,
      method,
      data,
      header: { 'content-type': 'application/json', Authorization: 'Bearer ' + token }
    })
  const call = async (method, path, data) => {
    const res = await raw(method, path, data)
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new Error(`${method} ${path} as ${accountName}: ${res.statusCode} ${JSON.stringify(res.data)}`)
    }
    return res.data
  }
  return { account, token, call, raw }
}

/** A moment `minutes` from now, as ISO 8601 (UTC, which the server takes as any other offset). */
function isoIn(minutes) {
  return new Date(Date.now() + minutes * 60000).toISOString()
}

/** Creates a meeting of `orgId` running from 10 minutes ago for two hours (open for sign-in now). */
function createCurrentMeeting(api, orgId, extra) {
  return api.call(
    'POST',
    '/api/meetings',
    Object.assign(
      { org_id: orgId, kind: 'branch_committee', title: '支部委员会会议', starts_at: isoIn(-10), ends_at: isoIn(110) },
      extra
    )
  )
}

/** Creates a meeting that started a while ago, records it as held and submits it for review. */
async function createSubmittedMeeting(api, orgId, extra) {
  const meeting = await createCurrentMeeting(api, orgId, extra)
  await api.call('POST', `/api/meetings/${meeting.id}/held`, { minutes: '传达学习上级会议精神，讨论本月工作。' })
  return api.call('POST', `/api/meetings/${meeting.id}/submit`, { self_score: 90 })
}

module.exports = { apiAs, isoIn, createCurrentMeeting, createSubmittedMeeting }
