// One meeting: what, when, where, its status and record, who attended, the photos with what the server found in
// them, and its reviews. The buttons are the server's `can`: signing in (with the phone's position), taking
// photos (through the upload queue, so a photo taken without signal is sent later with its capture time),
// recording the meeting as held, submitting it, marking attendance, rating it, and reviewing it.
const request = require('../../utils/request')
const dialog = require('../../utils/dialog')
const { confirm } = dialog
const uploadQueue = require('../../utils/upload-queue')
const subscribe = require('../../utils/subscribe')
const { getPosition } = require('../../utils/location')
const { isoLocal } = require('../../utils/format')
const labels = require('../../utils/meeting-labels')
const view = require('../../utils/meeting-view')

const toast = (title, icon) => dialog.toast(title, icon, 2500)
const QUIET = { showError: false }
const REVIEW_DONE = { pass: '已通过', return: '已退回', comment: '已评论' }
// The choices of the attendance action sheet: proxy sign-in, then absent with each reason.
const ATTENDANCE_CHOICES = [{ status: 'present', label: '代签到（出席）' }].concat(
  labels.ABSENCE_REASONS.map((reason) => ({ status: 'absent', reason: reason.value, label: `缺席：${reason.label}` }))
)

// An optional note typed in a modal; null when cancelled.
function askText(title, placeholderText) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      editable: true,
      placeholderText,
      confirmColor: '#c8161d',
      success: (res) => resolve(res.confirm ? (res.content || '').trim() : null),
      fail: () => resolve(null)
    })
  })
}

function chooseAction(itemList) {
  return new Promise((resolve) => {
    wx.showActionSheet({ itemList, success: (res) => resolve(res.tapIndex), fail: () => resolve(-1) })
  })
}

// Compressed: a queued photo is saved on the phone, where all saved files share 10 MB, and goes over weak
// networks; the position and time the server checks come with the upload, not from EXIF.
function takePhoto() {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({
      count: 1,
      mediaType: ['image'],
      sourceType: ['camera'],
      sizeType: ['compressed'],
      camera: 'back',
      success: (res) => resolve(res.tempFiles[0].tempFilePath),
      fail: reject
    })
  })
}

// '' → undefined (not sent); otherwise an integer 0–100, or NaN for the page to refuse.
function parseScore(text) {
  const value = String(text || '').trim()
  if (!value) return undefined
  return /^\d{1,3}$/.test(value) && Number(value) <= 100 ? Number(value) : NaN
}

Page({
  data: {
    id: null,
    loading: true,
    failed: false,
    meeting: null,
    can: {},
    attendees: [],
    photos: [],
    reviews: [],
    myRating: 0,
    signedIn: false,
    queue: { pending: 0, failed: [], sending: false },
    minutes: '',
    selfScore: '',
    reviewComment: '',
    reviewScore: '',
    errors: {},
    busy: false
  },

  async onLoad(options) {
    this.setData({ id: Number(options.id) })
    this.refreshQueue()
    await this.load()
  },

  // The queue may have sent photos of this meeting while the page was hidden (app back, network back).
  onShow() {
    this.listen()
    this.refreshQueue()
    if (this.data.queue.pending) uploadQueue.flush()
  },

  onHide() {
    this.stopListening()
  },

  onUnload() {
    this.stopListening()
  },

  listen() {
    if (this.unsubscribe) return
    this.unsubscribe = uploadQueue.subscribe((event) => {
      this.refreshQueue()
      if (event.type === 'uploaded' && event.item.meeting_id === this.data.id && !this.capturing) this.load()
    })
  },

  stopListening() {
    if (this.unsubscribe) this.unsubscribe()
    this.unsubscribe = null
  },

  refreshQueue() {
    const items = uploadQueue.list(this.data.id)
    this.setData({
      queue: {
        pending: items.filter((it) => it.status === 'pending').length,
        failed: items.filter((it) => it.status === 'failed'),
        sending: items.some((it) => it.sending)
      }
    })
  },

  async load() {
    try {
      const detail = await request.get(`/api/meetings/${this.data.id}`)
      this.show(detail)
    } catch (err) {
      this.setData({ loading: false, failed: !this.data.meeting })
    }
  },

  show(detail) {
    const mine = detail.my_attendance
    this.setData({
      loading: false,
      failed: false,
      meeting: view.meetingDetail(detail),
      can: detail.can || {},
      attendees: (detail.attendees || []).map(view.attendee),
      photos: (detail.photos || []).map(view.photo),
      reviews: (detail.reviews || []).map(view.review),
      myRating: (mine && mine.rating) || 0,
      signedIn: Boolean(mine && mine.status === 'present'),
      minutes: this.data.minutes || detail.minutes || ''
    })
    wx.setNavigationBarTitle({ title: detail.kind ? detail.kind.name : '会议详情' })
  },

  onInput(e) {
    const field = e.currentTarget.dataset.field
    this.setData({ [field]: e.detail.value, [`errors.${field}`]: '' })
  },

  // Runs one action against the server; its field errors go under the fields named in `fieldMap`
  // ({serverField: pageField}), anything else is a toast.
  async run(action, fieldMap) {
    if (this.data.busy) return false
    this.setData({ busy: true })
    try {
      await action()
      return true
    } catch (err) {
      const errors = {}
      Object.keys(fieldMap || {}).forEach((field) => {
        const message = err.fieldMessage ? err.fieldMessage(field) : ''
        if (message) errors[fieldMap[field]] = message
      })
      this.setData({ errors })
      toast(err.message || '操作失败，请稍后重试')
      return false
    } finally {
      this.setData({ busy: false })
    }
  },

  async onSignIn() {
    await this.run(async () => {
      let position
      try {
        position = await getPosition()
      } catch (err) {
        throw new request.ApiError({ message: err.message, code: 'location_failed' })
      }
      const row = await request.post(`/api/meetings/${this.data.id}/sign-in`, position, QUIET)
      toast(labels.SIGN_IN_RESULTS[row.result] || '签到成功', row.result === 'inside' ? 'success' : 'none')
      await this.load()
    })
  },

  // Camera → position → the upload queue (saved on the phone first) → an attempt to send at once.
  async onTakePhoto(e) {
    const purpose = (e && e.currentTarget.dataset.purpose) || 'scene'
    let tempFilePath
    try {
      tempFilePath = await takePhoto()
    } catch (err) {
      return // The member closed the camera.
    }
    const takenAt = isoLocal(new Date())
    let position = {}
    try {
      position = await getPosition()
    } catch (err) {
      toast('未能获取位置，照片将不带位置上传')
    }
    this.capturing = true
    let uploaded = false
    try {
      const item = await uploadQueue.add(
        Object.assign({ meeting_id: this.data.id, tempFilePath, taken_at: takenAt, purpose }, position)
      )
      this.refreshQueue()
      await uploadQueue.flush()
      this.refreshQueue()
      const left = uploadQueue.list(this.data.id).find((it) => it.client_id === item.client_id)
      if (!left) {
        toast('照片已上传', 'success')
        await this.load()
        uploaded = true
      } else if (left.status === 'failed') {
        toast(left.last_error)
      } else {
        toast('网络不佳，照片已保存，将自动上传')
      }
    } finally {
      this.capturing = false
    }
    // A natural moment to top up WeChat reminders (at most every few hours, only when running low).
    if (uploaded) await subscribe.offerSubscribe({ reason: '开启后，会议待办、审核结果将通过微信提醒你。' })
  },

  async onFlushQueue() {
    await uploadQueue.flush()
    this.refreshQueue()
  },

  async onRetryUpload(e) {
    await uploadQueue.retry(e.detail.clientId)
    this.refreshQueue()
  },

  async onRemoveUpload(e) {
    const ok = await confirm('删除照片', '这张照片还没有上传，删除后无法恢复，确定删除吗？')
    if (!ok) return
    uploadQueue.remove(e.detail.clientId)
    this.refreshQueue()
  },

  onPreviewPhoto(e) {
    const urls = this.data.photos.map((photo) => photo.display)
    wx.previewImage({ current: urls[e.currentTarget.dataset.index], urls })
  },

  async onRecordHeld() {
    const minutes = this.data.minutes.trim()
    await this.run(async () => {
      const detail = await request.post(`/api/meetings/${this.data.id}/held`, minutes ? { minutes } : {}, QUIET)
      this.show(detail)
      toast('已记录为已召开', 'success')
    }, { minutes: 'minutes' })
  },

  async onSubmit() {
    const score = parseScore(this.data.selfScore)
    if (Number.isNaN(score)) {
      this.setData({ 'errors.selfScore': '自评分应为0到100的整数' })
      return
    }
    await this.run(async () => {
      const body = score === undefined ? {} : { self_score: score }
      this.show(await request.post(`/api/meetings/${this.data.id}/submit`, body, QUIET))
      toast('已提交审核', 'success')
    }, { self_score: 'selfScore' })
  },

  async onMarkAttendance(e) {
    const { memberId, name } = e.currentTarget.dataset
    const index = await chooseAction(ATTENDANCE_CHOICES.map((choice) => choice.label))
    if (index < 0) return
    const choice = ATTENDANCE_CHOICES[index]
    const body = { status: choice.status }
    if (choice.status === 'absent') {
      body.absence_reason = choice.reason
      const note = await askText(`${name}缺席说明`, '可不填')
      if (note === null) return
      if (note) body.absence_note = note
    }
    await this.run(async () => {
      await request.put(`/api/meetings/${this.data.id}/attendees/${memberId}`, body, QUIET)
      // No icon: a success icon cuts the title to seven characters, and names vary.
      toast(choice.status === 'present' ? `已为${name}代签到` : `已登记${name}缺席`)
      await this.load()
    })
  },

  async onRate(e) {
    const rating = Number(e.currentTarget.dataset.rating)
    await this.run(async () => {
      const res = await request.post(`/api/meetings/${this.data.id}/rating`, { rating }, QUIET)
      this.setData({ myRating: res.rating })
      toast('感谢您的评价', 'success')
      await this.load()
    })
  },

  async onReview(e) {
    const decision = e.currentTarget.dataset.decision
    const comment = this.data.reviewComment.trim()
    const score = parseScore(this.data.reviewScore)
    const errors = {}
    if (decision !== 'pass' && !comment) errors.reviewComment = decision === 'return' ? '请填写退回原因' : '请填写评论'
    if (Number.isNaN(score)) errors.reviewScore = '评分应为0到100的整数'
    if (Object.keys(errors).length) {
      this.setData({ errors })
      return
    }
    if (decision !== 'comment') {
      const ok = await confirm(
        decision === 'pass' ? '审核通过' : '退回修改',
        decision === 'pass' ? '通过后会议记录将锁定，确定通过吗？' : '确定将会议记录退回支部修改吗？'
      )
      if (!ok) return
    }
    const body = { decision }
    if (comment) body.comment = comment
    if (score !== undefined) body.score = score
    const done = await this.run(async () => {
      this.show(await request.post(`/api/meetings/${this.data.id}/review`, body, QUIET))
    }, { comment: 'reviewComment', score: 'reviewScore' })
    if (done) {
      this.setData({ reviewComment: '', reviewScore: '', errors: {} })
      toast(REVIEW_DONE[decision], 'success')
    }
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  }
})
