// Planning (or recording after the fact) a meeting of an organisation: kind, title, topic, date and time, the
// lecturer when the kind needs one, and the venue (the organisation's activity place unless another is picked
// on the map). The server checks everything; its field errors are shown next to the fields.
const request = require('../../utils/request')
const session = require('../../utils/session')
const { businessNow, businessIso } = require('../../utils/format')

const QUIET = { showError: false }
// Server field → the form field its message is shown under.
const FIELD_OF = {
  kind: 'kind',
  title: 'title',
  topic: 'topic',
  starts_at: 'starts_at',
  ends_at: 'ends_at',
  lecturer_name: 'lecturer_name',
  venue: 'venue',
  venue_name: 'venue'
}

function formErrors(err) {
  const errors = {}
  Object.keys(err.fields || {}).forEach((key) => {
    const field = FIELD_OF[key.split('.')[0]]
    const message = (err.fields[key] || [])[0]
    if (field && message && !errors[field]) errors[field] = message
  })
  return errors
}

Page({
  data: {
    orgId: null,
    org: null,
    kinds: [],
    kindIndex: -1,
    kind: null,
    title: '',
    topic: '',
    date: '',
    startTime: '09:00',
    endTime: '10:30',
    lecturer_name: '',
    venue: null,
    venueText: '',
    errors: {},
    hint: '',
    submitting: false
  },

  async onLoad(options) {
    const query = options || {}
    const member = session.getMember() || {}
    this.preferredKind = query.kind || ''
    this.setData({ orgId: Number(query.org_id) || member.org_id, date: businessNow().date })
    await Promise.all([this.loadKinds(), this.loadOrg()])
  },

  async loadKinds() {
    try {
      const res = await request.get('/api/meeting-kinds')
      this.setData({ kinds: res.items })
      const index = res.items.findIndex((kind) => kind.code === this.preferredKind)
      if (index >= 0) this.pickKind(index)
    } catch (err) {
      this.setData({ hint: '会议类型加载失败，请下拉刷新重试' })
    }
  },

  async loadOrg() {
    try {
      const org = await request.get(`/api/orgs/${this.data.orgId}`, null, QUIET)
      this.setData({ org })
      this.showVenue()
    } catch (err) {
      this.setData({ hint: '无法为该组织新建会议' })
    }
  },

  showVenue() {
    const venue = this.data.venue
    let venueText = '组织尚未设置活动场所位置，请选择会议地点'
    if (venue) venueText = venue.name || '已选择地点'
    else if (this.data.org && this.data.org.venue) venueText = '组织活动场所（默认）'
    this.setData({ venueText })
  },

  pickKind(index) {
    const kind = this.data.kinds[index]
    const previous = this.data.kind
    // The title follows the kind until the member types one of their own.
    const title = !this.data.title || (previous && this.data.title === previous.name) ? kind.name : this.data.title
    this.setData({ kindIndex: index, kind, title, 'errors.kind': '', 'errors.title': '' })
  },

  onKindChange(e) {
    this.pickKind(Number(e.detail.value))
  },

  onInput(e) {
    const field = e.currentTarget.dataset.field
    this.setData({ [field]: e.detail.value, [`errors.${field}`]: '', hint: '' })
  },

  onDateChange(e) {
    this.setData({ date: e.detail.value, 'errors.starts_at': '' })
  },

  onStartChange(e) {
    this.setData({ startTime: e.detail.value, 'errors.starts_at': '', 'errors.ends_at': '' })
  },

  onEndChange(e) {
    this.setData({ endTime: e.detail.value, 'errors.ends_at': '' })
  },

  onChooseVenue() {
    wx.chooseLocation({
      success: (res) => {
        this.setData({
          venue: {
            name: res.name || res.address || '',
            latitude: res.latitude,
            longitude: res.longitude,
            coord_sys: 'gcj02'
          },
          'errors.venue': ''
        })
        this.showVenue()
      }
    })
  },

  onVenueNameInput(e) {
    this.setData({ 'venue.name': e.detail.value, 'errors.venue': '' })
  },

  onDefaultVenue() {
    this.setData({ venue: null, 'errors.venue': '' })
    this.showVenue()
  },

  // What is missing before anything is sent; the server checks the rest (and these again).
  check() {
    const errors = {}
    if (!this.data.kind) errors.kind = '请选择会议类型'
    if (!this.data.title.trim()) errors.title = '请填写会议名称'
    if (this.data.endTime <= this.data.startTime) errors.ends_at = '结束时间应晚于开始时间'
    if (this.data.kind && this.data.kind.needs_lecturer && !this.data.lecturer_name.trim()) {
      errors.lecturer_name = '请填写主讲人'
    }
    return errors
  },

  body() {
    const d = this.data
    const body = {
      org_id: d.orgId,
      kind: d.kind.code,
      title: d.title.trim(),
      starts_at: businessIso(d.date, d.startTime),
      ends_at: businessIso(d.date, d.endTime)
    }
    if (d.topic.trim()) body.topic = d.topic.trim()
    if (d.kind.needs_lecturer) body.lecturer_name = d.lecturer_name.trim()
    if (d.venue) body.venue = d.venue
    return body
  },

  async onSubmit() {
    if (this.data.submitting) return
    const errors = this.check()
    if (Object.keys(errors).length) {
      this.setData({ errors, hint: '' })
      return
    }
    this.setData({ submitting: true, errors: {}, hint: '' })
    try {
      const meeting = await request.post('/api/meetings', this.body(), QUIET)
      wx.showToast({ title: '会议已创建', icon: 'success' })
      wx.redirectTo({ url: `/pages/meeting/meeting?id=${meeting.id}` })
    } catch (err) {
      const fieldErrors = formErrors(err)
      this.setData({ errors: fieldErrors, hint: Object.keys(fieldErrors).length ? '' : err.message })
    } finally {
      this.setData({ submitting: false })
    }
  },

  async onPullDownRefresh() {
    await Promise.all([this.loadKinds(), this.loadOrg()])
    wx.stopPullDownRefresh()
  }
})
