// A department's daily presence board (GET /api/duty/board): for an organisation and a date, the totals and each
// directly subordinate organisation with its rostered / present / late / absent / outside / flagged counts (tap one
// to drill down), all from one request. The cadres come page by page from /api/duty/board/cadres: at a village all
// of them, anywhere by tapping a total (e.g. 缺勤 — the absent cadres of the whole subtree); tap one for their
// check-ins. The month report of the same subtree downloads as .xlsx. Opened from the home entry (?org_id=); what
// the actor may see is the server's decision (404 otherwise).
const config = require('../../config')
const request = require('../../utils/request')
const session = require('../../utils/session')
const dialog = require('../../utils/dialog')
const { businessNow, periodLabel } = require('../../utils/format')
const labels = require('../../utils/duty-labels')

const QUIET = { showError: false }
const CADRES_PER_PAGE = 50
const XLSX = 'xlsx'

function cadreView(row) {
  return {
    key: `${row.member.id}-${row.org_id}`,
    memberId: row.member.id,
    name: row.member.name || '（已结束派驻）',
    orgId: row.org_id,
    orgName: (row.org && row.org.name) || '',
    statuses: labels.cadreStatus(row),
    checkins: row.checkins,
    outsideCount: row.outside_count,
    flaggedCount: row.flagged_count
  }
}

function childView(org, counts) {
  const row = counts || {}
  return {
    id: org.id,
    name: org.name,
    counts: labels.boardCounts(row),
    rostered: row.rostered || 0,
    present: row.present || 0,
    alert: (row.absent || 0) + (row.outside || 0) + (row.flagged || 0) > 0
  }
}

function download(url, token) {
  return new Promise((resolve, reject) => {
    wx.downloadFile({
      url,
      header: token ? { Authorization: 'Bearer ' + token } : {},
      timeout: config.uploadTimeoutMs,
      success: resolve,
      fail: reject
    })
  })
}

function openDocument(filePath) {
  return new Promise((resolve, reject) => {
    wx.openDocument({ filePath, fileType: XLSX, showMenu: true, success: resolve, fail: reject })
  })
}

Page({
  data: {
    orgId: null,
    orgName: '',
    date: '',
    loading: true,
    failed: false,
    totals: [],
    children: [],
    cadres: [],
    cadreTotal: 0,
    cadrePage: 1,
    cadresLoading: false,
    filter: '',
    filterLabel: '',
    isBranch: false,
    month: '',
    monthText: '',
    exporting: false
  },

  async onLoad(options) {
    const query = options || {}
    const today = businessNow().date
    const date = query.date || today
    this.setData({
      orgId: Number(query.org_id),
      date,
      month: date.slice(0, 7),
      monthText: periodLabel(date.slice(0, 7))
    })
    await this.load()
  },

  async load() {
    const seq = (this.loadSeq || 0) + 1
    this.loadSeq = seq
    try {
      const { orgId, date } = this.data
      const [board, children] = await Promise.all([
        request.get('/api/duty/board', { org_id: orgId, date }),
        request.get(`/api/orgs/${orgId}/children`, { per_page: 100 }, QUIET).catch(() => ({ items: [] }))
      ])
      if (seq !== this.loadSeq) return
      const items = children.items || []
      const counted = {}
      board.children.forEach((row) => {
        counted[row.org.id] = row
      })
      const isBranch = !items.length
      this.setData({
        loading: false,
        failed: false,
        orgName: board.org.name,
        totals: labels.boardCounts(board.totals),
        children: items.map((child) => childView(child, counted[child.id])),
        isBranch,
        filter: '',
        cadres: [],
        cadreTotal: 0
      })
      wx.setNavigationBarTitle({ title: board.org.name })
      if (isBranch || board.cadres <= CADRES_PER_PAGE) await this.loadCadres(1, seq)
    } catch (err) {
      if (seq === this.loadSeq) this.setData({ loading: false, failed: true })
    }
  },

  // One page of cadres (those with the chosen status only, when a total was tapped); page 1 replaces the list.
  async loadCadres(page, seq) {
    const { orgId, date, filter } = this.data
    const query = { org_id: orgId, date, page, per_page: CADRES_PER_PAGE }
    if (filter) query.status = filter
    this.setData({ cadresLoading: true })
    try {
      const res = await request.get('/api/duty/board/cadres', query)
      if (seq !== this.loadSeq) return
      const rows = res.items.map(cadreView)
      this.setData({
        cadres: page === 1 ? rows : this.data.cadres.concat(rows),
        cadrePage: page,
        cadreTotal: res.meta.total
      })
    } finally {
      if (seq === this.loadSeq) this.setData({ cadresLoading: false })
    }
  },

  // Tapping a total lists the cadres with that status in the whole subtree; tapping it again clears the filter.
  async onFilter(e) {
    const key = e.currentTarget.dataset.key
    const filter = this.data.filter === key ? '' : key
    const filterLabel = filter ? this.data.totals.find((t) => t.key === filter).label : ''
    this.setData({ filter, filterLabel, cadres: [], cadreTotal: 0 })
    if (filter || this.data.isBranch) await this.loadCadres(1, this.loadSeq)
  },

  async onReachBottom() {
    const { cadres, cadreTotal, cadrePage, cadresLoading } = this.data
    if (cadresLoading || cadres.length >= cadreTotal) return
    await this.loadCadres(cadrePage + 1, this.loadSeq)
  },

  async onDateChange(e) {
    this.setData({ date: e.detail.value, loading: true })
    await this.load()
  },

  onOpenChild(e) {
    wx.navigateTo({ url: `/pages/duty/board?org_id=${e.currentTarget.dataset.id}&date=${this.data.date}` })
  },

  onOpenCadre(e) {
    const { memberId, orgId, name } = e.currentTarget.dataset
    const month = this.data.date.slice(0, 7)
    wx.navigateTo({
      url: `/pages/duty/history?member_id=${memberId}&org_id=${orgId}&name=${encodeURIComponent(name)}&month=${month}`
    })
  },

  onOpenFences() {
    wx.navigateTo({ url: `/pages/duty/fences?org_id=${this.data.orgId}` })
  },

  onMonthChange(e) {
    const month = e.detail.value.slice(0, 7)
    this.setData({ month, monthText: periodLabel(month) })
  },

  // The month report as .xlsx (the allowance basis), opened in WeChat's document viewer, from where it can be
  // forwarded or saved. The token goes in the header, as for every request; one refresh after a 401.
  async onExport() {
    if (this.data.exporting) return
    this.setData({ exporting: true })
    const url = `${config.apiBase}/api/duty/report?org_id=${this.data.orgId}&month=${this.data.month}&format=${XLSX}`
    try {
      let token = session.getAccessToken()
      let res = await download(url, token)
      if (res.statusCode === 401) {
        await request.refreshSession(token)
        token = session.getAccessToken()
        res = await download(url, token)
      }
      if (res.statusCode !== 200) {
        dialog.toast(res.statusCode === 404 ? '无权导出该组织的月报' : `导出失败（${res.statusCode}）`)
        return
      }
      await openDocument(res.tempFilePath)
    } catch (err) {
      dialog.toast(err instanceof request.ApiError ? err.message : request.NETWORK_MESSAGE)
    } finally {
      this.setData({ exporting: false })
    }
  },

  async onPullDownRefresh() {
    await this.load()
    wx.stopPullDownRefresh()
  }
})
