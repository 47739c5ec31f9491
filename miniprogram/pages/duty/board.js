// A department's daily presence board (GET /api/duty/board): for an organisation and a date, the totals, each
// directly subordinate organisation with its rostered / present / late / absent / outside / flagged counts (tap
// one to drill down), and at a village the cadres one by one (tap one for their check-ins). The month report of
// the same subtree downloads as .xlsx. Opened from the home entry (?org_id=); what the actor may see is the
// server's decision (404 otherwise).
const config = require('../../config')
const request = require('../../utils/request')
const session = require('../../utils/session')
const dialog = require('../../utils/dialog')
const { businessNow, periodLabel } = require('../../utils/format')
const labels = require('../../utils/duty-labels')

const QUIET = { showError: false }
const BRANCH_KINDS = ['branch', 'joint_branch']
const PARALLEL_BOARDS = 4
const XLSX = 'xlsx'

// Runs `fn` over `items` with at most `limit` at once; results in order.
async function mapLimited(items, limit, fn) {
  const out = new Array(items.length)
  let next = 0
  async function worker() {
    while (next < items.length) {
      const index = next
      next += 1
      out[index] = await fn(items[index])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

function cadreView(row) {
  return {
    memberId: row.member.id,
    name: row.member.name || '（已结束派驻）',
    orgId: row.org_id,
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
      const rows = await this.childRows(board, children.items || [], date)
      if (seq !== this.loadSeq) return
      this.setData({
        loading: false,
        failed: false,
        orgName: board.org.name,
        totals: labels.boardCounts(board.totals),
        children: rows,
        cadres: board.cadres.filter((c) => c.org_id === orgId).map(cadreView),
        isBranch: !(children.items || []).length
      })
      wx.setNavigationBarTitle({ title: board.org.name })
    } catch (err) {
      if (seq === this.loadSeq) this.setData({ loading: false, failed: true })
    }
  },

  // Each child's counts: a branch's row is in this board already (none: nobody assigned there that day); a
  // committee's are the totals of its own board, fetched a few at a time.
  async childRows(board, children, date) {
    const byOrg = {}
    board.orgs.forEach((row) => {
      byOrg[row.org.id] = row
    })
    return mapLimited(children, PARALLEL_BOARDS, async (child) => {
      if (BRANCH_KINDS.includes(child.kind)) return childView(child, byOrg[child.id])
      try {
        const sub = await request.get('/api/duty/board', { org_id: child.id, date }, QUIET)
        return childView(child, sub.totals)
      } catch (err) {
        return childView(child, null)
      }
    })
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
