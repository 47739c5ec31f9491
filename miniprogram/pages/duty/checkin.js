// Duty check-in of a resident cadre: the villages assigned today (GET /api/duty/today), a map with the village's
// fences (their GCJ-02 `display` geometry) and the phone's position with its accuracy circle, today's shift, and
// 签到/签退. The position is read with wx.getLocation (GCJ-02, high accuracy) and sent with its accuracy and the
// moment it was read; the check-in is stored on the phone first (utils/duty-queue) so a flaky network never loses
// or doubles it — a retry reuses its client_id. The server judges it (inside / outside by how far / uncertain,
// on time / early / late / off roster, spoof signals) and never refuses one outside: the page asks for a remark
// when the position looks outside, then shows the server's verdict. Opened with ?org_id= (the home page's due item)
// and, for a department's photo check, &request_id= (a live photo is then required).
const request = require('../../utils/request')
const dialog = require('../../utils/dialog')
const { getPosition } = require('../../utils/location')
const { isoLocal } = require('../../utils/format')
const labels = require('../../utils/duty-labels')
const geo = require('../../utils/duty-geo')
const queue = require('../../utils/duty-queue')
const subscribe = require('../../utils/subscribe')

const QUIET = { showError: false }
const toast = (title, icon) => dialog.toast(title, icon, 2500)

// A note typed in a modal; null when cancelled.
function askText(title, content, placeholderText) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      editable: true,
      placeholderText,
      confirmColor: '#c8161d',
      success: (res) => resolve(res.confirm ? (res.content || '').trim() : null),
      fail: () => resolve(null)
    })
  })
}

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

function dutyView(entry) {
  const assignment = entry.assignment
  return {
    orgId: assignment.org.id,
    orgName: assignment.org.name,
    roleLabel: assignment.role_label,
    date: entry.date,
    shiftText: labels.shiftText(entry.shift),
    exceptionText: labels.exceptionText(entry.exception),
    fences: entry.fences || [],
    checkins: (entry.checkins || []).map(labels.checkinView)
  }
}

function pendingView(item) {
  return {
    clientId: item.client_id,
    kindLabel: labels.KIND_LABELS[item.kind] || item.kind,
    readText: labels.shortTime(item.read_at),
    status: item.status,
    lastError: item.last_error || '',
    withPhoto: Boolean(item.file_path)
  }
}

Page({
  data: {
    loading: true,
    failed: false,
    duties: [],
    orgNames: [],
    index: 0,
    duty: null,
    canEditFences: false,
    position: null,
    locationError: '',
    map: { latitude: 0, longitude: 0, circles: [], polygons: [] },
    hint: null,
    remark: '',
    withPhoto: false,
    requestId: null,
    verdict: null,
    pending: [],
    busy: false
  },

  async onLoad(options) {
    const query = options || {}
    this.wantedOrgId = query.org_id ? Number(query.org_id) : null
    this.setData({ requestId: query.request_id ? Number(query.request_id) : null })
    await this.load()
    await this.locate()
  },

  // Check-ins stored while the page was away (or the app closed) go out now, and whenever the network is back.
  async onShow() {
    this.watchNetwork()
    await this.flush()
  },

  onHide() {
    this.unwatchNetwork()
  },

  onUnload() {
    this.unwatchNetwork()
  },

  watchNetwork() {
    if (this.networkListener || !wx.onNetworkStatusChange) return
    this.networkListener = (res) => {
      if (res && res.isConnected) this.flush()
    }
    wx.onNetworkStatusChange(this.networkListener)
  },

  unwatchNetwork() {
    if (this.networkListener && wx.offNetworkStatusChange) wx.offNetworkStatusChange(this.networkListener)
    this.networkListener = null
  },

  async load() {
    try {
      const res = await request.get('/api/duty/today')
      const duties = (res.items || []).map(dutyView)
      const keep = this.data.duty ? this.data.duty.orgId : this.wantedOrgId
      const found = duties.findIndex((d) => d.orgId === keep)
      this.setData({
        loading: false,
        failed: false,
        duties,
        orgNames: duties.map((d) => d.orgName),
        index: found < 0 ? 0 : found
      })
      this.select(found < 0 ? 0 : found)
    } catch (err) {
      this.setData({ loading: false, failed: !this.data.duties.length })
    }
  },

  select(index) {
    const duty = this.data.duties[index] || null
    this.setData({ index, duty })
    this.refreshPending()
    this.drawMap()
    if (duty) this.loadFencePermission(duty.orgId)
  },

  onPickVillage(e) {
    this.select(Number(e.detail.value))
  },

  // Whether this member may place the village's fences (a secretary who is also on duty there): the link.
  async loadFencePermission(orgId) {
    try {
      const res = await request.get(`/api/orgs/${orgId}/geofences`, undefined, QUIET)
      if (this.data.duty && this.data.duty.orgId === orgId) this.setData({ canEditFences: Boolean(res.can_edit) })
    } catch (err) {
      this.setData({ canEditFences: false })
    }
  },

  async locate() {
    try {
      const position = await getPosition()
      this.setData({ position, locationError: '' })
    } catch (err) {
      this.setData({ locationError: err.message })
    }
    this.drawMap()
    return this.data.position
  },

  drawMap() {
    const duty = this.data.duty
    const fences = duty ? duty.fences : []
    const position = this.data.position
    const shapes = geo.mapShapes(fences, position)
    const center = geo.mapCenter(fences, position) || this.data.map
    const estimate = geo.estimate(position, fences)
    let hint = null
    if (estimate) {
      hint = estimate.inside
        ? { outside: false, text: '当前位置在签到范围内（以服务器判定为准）' }
        : { outside: true, text: `当前位置距签到范围约 ${labels.distanceText(estimate.distanceM)}（以服务器判定为准）` }
    } else if (duty && !fences.length) {
      hint = { outside: false, text: '本村尚未设置签到范围，将按村活动场所判定' }
    }
    this.setData({
      map: { latitude: center.latitude, longitude: center.longitude, circles: shapes.circles, polygons: shapes.polygons },
      hint
    })
  },

  refreshPending() {
    const duty = this.data.duty
    this.setData({ pending: duty ? queue.list(duty.orgId).map(pendingView) : [] })
  },

  onRemarkInput(e) {
    this.setData({ remark: e.detail.value })
  },

  onPhotoSwitch(e) {
    this.setData({ withPhoto: Boolean(e.detail.value) })
  },

  onRelocate() {
    return this.locate()
  },

  async onCheckin(e) {
    const kind = (e && e.currentTarget.dataset.kind) || 'checkin'
    const duty = this.data.duty
    if (this.data.busy || !duty) return
    this.setData({ busy: true })
    try {
      await this.checkIn(duty, kind)
    } finally {
      this.setData({ busy: false })
    }
  },

  async checkIn(duty, kind) {
    let position
    try {
      position = await getPosition()
    } catch (err) {
      this.setData({ locationError: err.message })
      toast(err.message)
      return
    }
    const readAt = isoLocal(new Date())
    this.setData({ position, locationError: '' })
    this.drawMap()
    let remark = this.data.remark.trim()
    const estimate = geo.estimate(position, duty.fences)
    if (estimate && !estimate.inside && !remark) {
      const typed = await askText(
        '不在签到范围内',
        `当前位置距签到范围约 ${labels.distanceText(estimate.distanceM)}，仍可${labels.KIND_LABELS[kind]}，请说明原因`,
        '如：入户走访、到镇里开会'
      )
      if (typed === null) return
      remark = typed
    }
    let tempFilePath = null
    if (this.data.withPhoto || this.data.requestId) {
      try {
        tempFilePath = await takePhoto()
      } catch (err) {
        return // The member closed the camera.
      }
    }
    const item = await queue.add(
      Object.assign({}, position, {
        org_id: duty.orgId,
        org_name: duty.orgName,
        kind,
        read_at: readAt,
        remark,
        request_id: this.data.requestId,
        tempFilePath
      })
    )
    await this.settle(await queue.send(item.client_id))
  },

  // What the queue says after a send: the server's verdict, or why the check-in is still on the phone.
  async settle(outcome) {
    this.refreshPending()
    if (outcome.status === 'sent') {
      const verdict = labels.checkinView(outcome.checkin)
      this.setData({ verdict, remark: '' })
      if (this.data.requestId) this.setData({ requestId: null }) // the photo check is answered
      toast(`已${verdict.kindLabel}：${verdict.resultLabel}`)
      await this.load()
      // A natural moment to top up WeChat reminder credits (never rejects, asks at most every few hours).
      await subscribe.offerSubscribe({ reason: '开启后，值班提醒、拍照核验将通过微信提醒你。' })
    } else if (outcome.status === 'pending' || outcome.status === 'failed') {
      toast(outcome.message)
    }
  },

  // Sends a stored check-in again: the same client_id, so the server keeps one record whatever happened before.
  async onRetry(e) {
    if (this.data.busy) return
    this.setData({ busy: true })
    try {
      await this.settle(await queue.send(e.currentTarget.dataset.id))
    } finally {
      this.setData({ busy: false })
    }
  },

  async onRemovePending(e) {
    const ok = await dialog.confirm('删除签到', '这条签到还没有提交到服务器，删除后无法恢复，确定删除吗？')
    if (!ok) return
    queue.remove(e.currentTarget.dataset.id)
    this.refreshPending()
  },

  async flush() {
    if (!queue.list().some((it) => it.status === 'pending')) return
    const result = await queue.flush()
    this.refreshPending()
    if (result.sent.length) {
      const mine = this.data.duty && result.sent.filter((c) => c.org_id === this.data.duty.orgId)
      if (mine && mine.length) this.setData({ verdict: labels.checkinView(mine[mine.length - 1]) })
      toast(`已补交 ${result.sent.length} 条签到`)
      await this.load()
    }
  },

  onOpenHistory() {
    wx.navigateTo({ url: '/pages/duty/history' })
  },

  onOpenFences() {
    if (this.data.duty) wx.navigateTo({ url: `/pages/duty/fences?org_id=${this.data.duty.orgId}` })
  },

  async onPullDownRefresh() {
    await Promise.all([this.load(), this.locate()])
    wx.stopPullDownRefresh()
  }
})
