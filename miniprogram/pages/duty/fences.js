// The check-in fences of one organisation (?org_id=): listed and drawn on the map (their GCJ-02 `display`
// geometry). Who may place them — the departments above and the branch's own secretary — is the server's
// `can_edit`: they add a circle by tapping the map or picking a place (wx.chooseLocation; both GCJ-02, sent as
// such with a radius), and deactivate one (kept, because past check-ins name the fence they were judged against).
const request = require('../../utils/request')
const dialog = require('../../utils/dialog')
const geo = require('../../utils/duty-geo')
const { getPosition } = require('../../utils/location')

const QUIET = { showError: false }
const DEFAULT_RADIUS_M = 200
const DEFAULT_NAME = '村委会'
const FIELD_MAP = {
  name: 'name',
  radius_m: 'radius',
  center: 'center',
  'center.latitude': 'center',
  'center.longitude': 'center',
  'center.coord_sys': 'center'
}

function fenceView(f) {
  return {
    id: f.id,
    name: f.name,
    kind: f.kind,
    kindLabel: f.kind === 'circle' ? '圆形' : '多边形',
    sizeText: f.kind === 'circle' ? `半径 ${Math.round(f.radius_m)} 米` : `${(f.points || []).length} 个顶点`,
    coordSysLabel: f.coord_sys === 'gcj02' ? '地图坐标' : 'GPS坐标',
    active: f.active
  }
}

function parseRadius(text) {
  const value = Number(String(text || '').trim())
  return Number.isFinite(value) && value > 0 && value <= 5000 ? value : NaN
}

Page({
  data: {
    orgId: null,
    orgName: '',
    loading: true,
    failed: false,
    canEdit: false,
    fences: [],
    rows: [],
    map: { latitude: 0, longitude: 0, circles: [], polygons: [] },
    picked: null,
    name: DEFAULT_NAME,
    radius: String(DEFAULT_RADIUS_M),
    errors: {},
    busy: false
  },

  async onLoad(options) {
    this.setData({ orgId: Number((options || {}).org_id) })
    await Promise.all([this.load(), this.loadOrgName()])
  },

  async loadOrgName() {
    try {
      const org = await request.get(`/api/orgs/${this.data.orgId}`, undefined, QUIET)
      this.setData({ orgName: org.name })
      wx.setNavigationBarTitle({ title: `${org.name}签到范围` })
    } catch (err) {
      // The title stays generic.
    }
  },

  async load() {
    try {
      const res = await request.get(`/api/orgs/${this.data.orgId}/geofences`, { include_inactive: 1 })
      this.setData({
        loading: false,
        failed: false,
        canEdit: Boolean(res.can_edit),
        fences: res.items,
        rows: res.items.map(fenceView)
      })
      this.drawMap(true)
    } catch (err) {
      this.setData({ loading: false, failed: true })
    }
  },

  drawMap(recenter) {
    const active = this.data.fences.filter((f) => f.active)
    const picked = this.data.picked
    const radius = parseRadius(this.data.radius)
    const shapes = geo.mapShapes(
      active,
      null,
      picked ? Object.assign({}, picked, { radius: Number.isNaN(radius) ? DEFAULT_RADIUS_M : radius }) : null
    )
    const center = recenter ? geo.mapCenter(active, picked) : null
    const map = Object.assign({}, this.data.map, { circles: shapes.circles, polygons: shapes.polygons })
    if (center) Object.assign(map, center)
    this.setData({ map })
    if (recenter && !center) this.centreOnPhone()
  },

  // Nothing to show yet: start the map where the admin stands (usually the village itself).
  async centreOnPhone() {
    try {
      const position = await getPosition()
      this.setData({ 'map.latitude': position.latitude, 'map.longitude': position.longitude })
    } catch (err) {
      // The admin can still search for a place.
    }
  },

  pick(point) {
    this.setData({
      picked: { latitude: point.latitude, longitude: point.longitude },
      'errors.center': ''
    })
    this.drawMap(false)
  },

  // A tap on the map gives the point in GCJ-02, like the map itself.
  onMapTap(e) {
    if (!this.data.canEdit || !e.detail || e.detail.latitude === undefined) return
    this.pick(e.detail)
  },

  onChooseLocation() {
    wx.chooseLocation({
      success: (res) => {
        if (res.name && this.data.name === DEFAULT_NAME) this.setData({ name: res.name.slice(0, 50) })
        this.pick(res)
        this.drawMap(true)
      }
    })
  },

  onInput(e) {
    const field = e.currentTarget.dataset.field
    this.setData({ [field]: e.detail.value, [`errors.${field}`]: '' })
    if (field === 'radius') this.drawMap(false)
  },

  async onSave() {
    const errors = {}
    const radius = parseRadius(this.data.radius)
    if (!this.data.picked) errors.center = '请在地图上点选或搜索圆心位置'
    if (Number.isNaN(radius)) errors.radius = '半径应为1到5000米'
    if (!this.data.name.trim()) errors.name = '请填写名称'
    if (Object.keys(errors).length) {
      this.setData({ errors })
      return
    }
    if (this.data.busy) return
    this.setData({ busy: true })
    const picked = this.data.picked
    const body = {
      name: this.data.name.trim(),
      kind: 'circle',
      center: { latitude: picked.latitude, longitude: picked.longitude, coord_sys: 'gcj02' },
      radius_m: radius
    }
    try {
      await request.post(`/api/orgs/${this.data.orgId}/geofences`, body, QUIET)
      this.setData({ picked: null, name: DEFAULT_NAME, radius: String(DEFAULT_RADIUS_M), errors: {} })
      dialog.toast('已添加签到范围', 'success')
      await this.load()
    } catch (err) {
      const fieldErrors = {}
      Object.keys(FIELD_MAP).forEach((field) => {
        const message = err.fieldMessage ? err.fieldMessage(field) : ''
        if (message) fieldErrors[FIELD_MAP[field]] = message
      })
      this.setData({ errors: fieldErrors })
      dialog.toast(err.message || '保存失败，请稍后重试')
    } finally {
      this.setData({ busy: false })
    }
  },

  async onDeactivate(e) {
    const { id, name } = e.currentTarget.dataset
    const ok = await dialog.confirm('停用签到范围', `停用「${name}」后，签到不再以它判定（已有记录不受影响），确定停用吗？`)
    if (!ok) return
    try {
      await request.del(`/api/orgs/${this.data.orgId}/geofences/${id}`)
      dialog.toast('已停用')
      await this.load()
    } catch (err) {
      // request showed the server's message.
    }
  }
})
