// The member's inbox: notifications newest first with unread marks and the unread count, mark one read by opening
// it (then the page it names opens), mark all read, and a button that tops up WeChat reminders. What a
// notification says and where it leads is the server's; the page only shows it.
const request = require('../../utils/request')
const { loadNext } = require('../../utils/pager')
const subscribe = require('../../utils/subscribe')
const { toast } = require('../../utils/dialog')

const TAB_PAGES = ['/pages/home/home', '/pages/me/me']

function row(item) {
  const created = item.created_at || ''
  return {
    id: item.id,
    title: item.title,
    body: item.body,
    label: item.category_label,
    orgName: item.org_name || '',
    timeText: created.slice(0, 16).replace('T', ' '),
    read: item.read,
    page: item.page || ''
  }
}

Page({
  data: {
    items: [],
    itemsMeta: {},
    rows: [],
    unread: 0,
    templates: []
  },

  async onLoad() {
    await Promise.all([this.loadItems(true), this.loadTemplates()])
  },

  // Back from a notification's page: counts may have changed elsewhere.
  onShow() {
    if (this.shownOnce) return this.loadUnread()
    this.shownOnce = true
    return undefined
  },

  async loadItems(reset) {
    await loadNext(this, 'items', '/api/inbox', {}, reset === true)
    this.setData({ rows: this.data.items.map(row) })
    await this.loadUnread()
  },

  async loadUnread() {
    try {
      const res = await request.get('/api/inbox/unread-count', null, { showError: false })
      this.setData({ unread: res.unread })
    } catch (err) {
      // The list still shows which ones are unread.
    }
  },

  // Loaded before any tap: WeChat's subscribe prompt must open synchronously inside the tap.
  async loadTemplates() {
    try {
      const { all } = await subscribe.loadTemplates()
      this.setData({ templates: all })
    } catch (err) {
      this.setData({ templates: [] })
    }
  },

  markLocally(id) {
    const items = this.data.items.map((item) => (item.id === id ? Object.assign({}, item, { read: true }) : item))
    this.setData({ items, rows: items.map(row) })
  },

  async onItemTap(e) {
    const id = Number(e.currentTarget.dataset.id)
    const item = this.data.items.find((it) => it.id === id)
    if (!item) return
    if (!item.read) {
      try {
        const res = await request.post(`/api/inbox/${id}/read`)
        this.markLocally(id)
        this.setData({ unread: res.unread })
      } catch (err) {
        return // request showed why
      }
    }
    if (item.page) {
      const path = item.page.split('?')[0]
      if (TAB_PAGES.includes(path)) wx.switchTab({ url: path })
      else wx.navigateTo({ url: item.page })
    }
  },

  async onReadAll() {
    if (!this.data.unread) return
    try {
      await request.post('/api/inbox/read-all')
    } catch (err) {
      return
    }
    const items = this.data.items.map((item) => Object.assign({}, item, { read: true }))
    this.setData({ items, rows: items.map(row), unread: 0 })
    toast('已全部标为已读', 'success')
  },

  onSubscribeTap() {
    // Synchronous up to wx.requestSubscribeMessage (inside subscribeNow): WeChat insists on the tap.
    return subscribe.subscribeNow(this.data.templates).then((res) => {
      if (res) toast('已开启微信提醒', 'success')
      return res
    })
  },

  async onPullDownRefresh() {
    await this.loadItems(true)
    wx.stopPullDownRefresh()
  },

  onReachBottom() {
    return this.loadItems(false)
  }
})
