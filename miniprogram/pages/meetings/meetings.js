// Meetings of an organisation (with descendants=1, of its whole subtree), newest first, filtered by kind and
// status. With status=submitted&descendants=1 it is the department's review queue (待审核), filtered by photo
// flag. Opened from the home entries (?org_id=…[&descendants=1&status=submitted]); what comes back, and whether
// the member may see it, is the server's decision.
const request = require('../../utils/request')
const session = require('../../utils/session')
const { loadNext } = require('../../utils/pager')
const labels = require('../../utils/meeting-labels')
const { listRow } = require('../../utils/meeting-view')

const DEPARTMENT_ROLES = ['dept_admin', 'super_admin']
const CREATOR_ROLES = ['secretary', 'dept_admin', 'super_admin']
const ALL_KINDS = { code: '', name: '全部类型' }
const MAX_CHILD_ORGS = 100

function indexOf(options, value) {
  const index = options.findIndex((option) => option.value === value)
  return index < 0 ? 0 : index
}

Page({
  data: {
    orgId: null,
    reviewMode: false,
    isDepartment: false,
    canCreate: false,
    descendants: false,
    kinds: [ALL_KINDS],
    kindIndex: 0,
    kindCode: '',
    statusOptions: labels.STATUS_OPTIONS,
    statusIndex: 0,
    flagOptions: labels.FLAG_OPTIONS,
    flagIndex: 0,
    orgChoices: [],
    orgIndex: 0,
    meetings: [],
    meetingsMeta: {},
    rows: []
  },

  async onLoad(options) {
    const query = options || {}
    const member = session.getMember() || {}
    const descendants = query.descendants === '1'
    const reviewMode = query.status === 'submitted' && descendants
    this.setData({
      orgId: query.org_id ? Number(query.org_id) : null,
      descendants,
      reviewMode,
      isDepartment: DEPARTMENT_ROLES.includes(member.role),
      canCreate: !reviewMode && CREATOR_ROLES.includes(member.role),
      kindCode: query.kind || '',
      statusIndex: indexOf(labels.STATUS_OPTIONS, query.status || ''),
      flagIndex: indexOf(labels.FLAG_OPTIONS, query.flag || '')
    })
    wx.setNavigationBarTitle({ title: reviewMode ? '待审核' : '组织生活' })
    await Promise.all([this.loadKinds(), this.loadOrgChoices(), this.loadMeetings(true)])
  },

  // Back from a meeting (reviewed, submitted …): the list shows what the server now says.
  onShow() {
    if (this.shownOnce) return this.loadMeetings(true)
    this.shownOnce = true
    return undefined
  },

  async loadKinds() {
    try {
      const res = await request.get('/api/meeting-kinds', null, { showError: false })
      const kinds = [ALL_KINDS].concat(res.items.map((kind) => ({ code: kind.code, name: kind.name })))
      const kindIndex = Math.max(0, kinds.findIndex((kind) => kind.code === this.data.kindCode))
      this.setData({ kinds, kindIndex })
    } catch (err) {
      // The list works without the kind filter.
    }
  },

  // A department picks the organisation: the one it opened with, or one directly under it.
  async loadOrgChoices() {
    const orgId = this.data.orgId
    if (!this.data.isDepartment || !orgId) return
    try {
      const [org, children] = await Promise.all([
        request.get(`/api/orgs/${orgId}`, null, { showError: false }),
        request.get(`/api/orgs/${orgId}/children`, { page: 1, per_page: MAX_CHILD_ORGS }, { showError: false })
      ])
      const orgChoices = [{ id: org.id, name: org.name }].concat(
        children.items.map((child) => ({ id: child.id, name: child.name }))
      )
      this.setData({ orgChoices, orgIndex: 0 })
    } catch (err) {
      // Without the choices the list still shows the organisation it was opened for.
    }
  },

  params() {
    const params = {}
    const choice = this.data.orgChoices[this.data.orgIndex]
    const orgId = choice ? choice.id : this.data.orgId
    if (orgId) params.org_id = orgId
    if (this.data.descendants) params.descendants = 1
    const kind = this.data.kinds[this.data.kindIndex]
    if (kind && kind.code) params.kind = kind.code
    const status = this.data.reviewMode ? 'submitted' : labels.STATUS_OPTIONS[this.data.statusIndex].value
    if (status) params.status = status
    const flag = this.data.reviewMode ? labels.FLAG_OPTIONS[this.data.flagIndex].value : ''
    if (flag) params.flag = flag
    return params
  },

  async loadMeetings(reset) {
    await loadNext(this, 'meetings', '/api/meetings', this.params(), reset === true)
    this.setData({ rows: this.data.meetings.map(listRow) })
  },

  onKindChange(e) {
    this.setData({ kindIndex: Number(e.detail.value) })
    return this.loadMeetings(true)
  },

  onStatusChange(e) {
    this.setData({ statusIndex: Number(e.detail.value) })
    return this.loadMeetings(true)
  },

  onFlagChange(e) {
    this.setData({ flagIndex: Number(e.detail.value) })
    return this.loadMeetings(true)
  },

  onOrgChange(e) {
    this.setData({ orgIndex: Number(e.detail.value) })
    return this.loadMeetings(true)
  },

  onDescendantsChange(e) {
    this.setData({ descendants: Boolean(e.detail.value) })
    return this.loadMeetings(true)
  },

  onMeetingTap(e) {
    wx.navigateTo({ url: `/pages/meeting/meeting?id=${e.currentTarget.dataset.id}` })
  },

  onCreate() {
    const choice = this.data.orgChoices[this.data.orgIndex]
    const orgId = choice ? choice.id : this.data.orgId || (session.getMember() || {}).org_id
    wx.navigateTo({ url: `/pages/meeting-create/meeting-create?org_id=${orgId}` })
  },

  async onPullDownRefresh() {
    await this.loadMeetings(true)
    wx.stopPullDownRefresh()
  },

  onReachBottom() {
    return this.loadMeetings(false)
  }
})
