// Drawing fences on the <map> and a rough hint before a check-in is sent. Everything here is in GCJ-02, the
// system the map, wx.getLocation({type: 'gcj02'}) and wx.chooseLocation use: fences are drawn from the API's
// `display` geometry (converted by the server whatever system a fence is stored in). The hint only decides whether
// to ask for a remark first; the server judges the check-in (in WGS-84, against every active fence) and its
// verdict is what the page shows.

const EARTH_RADIUS_M = 6371008.8
const FENCE_STROKE = '#c8161dcc'
const FENCE_FILL = '#c8161d22'
const ME_STROKE = '#1677ffaa'
const ME_FILL = '#1677ff22'
const PICK_STROKE = '#fa8c16cc'
const PICK_FILL = '#fa8c1622'

const rad = (deg) => (deg * Math.PI) / 180

/** Great-circle distance in metres (haversine; well under a metre off at a village's scale). */
function distanceM(a, b) {
  const dLat = rad(b.latitude - a.latitude)
  const dLng = rad(b.longitude - a.longitude)
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLng / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

// Metres east (x) and north (y) of `origin`: flat enough for a village.
function toLocal(origin, p) {
  return {
    x: rad(p.longitude - origin.longitude) * EARTH_RADIUS_M * Math.cos(rad(origin.latitude)),
    y: rad(p.latitude - origin.latitude) * EARTH_RADIUS_M
  }
}

function segmentDistance(p, a, b) {
  const dx = b.x - a.x
  const dy = b.y - a.y
  const len2 = dx * dx + dy * dy
  const t = len2 ? Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2)) : 0
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy))
}

// Signed metres from `position` to the polygon's edge: negative inside.
function polygonDistance(position, points) {
  const ring = points.map((p) => toLocal(position, p))
  const here = { x: 0, y: 0 }
  let inside = false
  let nearest = Infinity
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const a = ring[i]
    const b = ring[j]
    if (a.y > 0 !== b.y > 0 && 0 < ((b.x - a.x) * (0 - a.y)) / (b.y - a.y) + a.x) inside = !inside
    nearest = Math.min(nearest, segmentDistance(here, a, b))
  }
  return inside ? -nearest : nearest
}

/** Signed metres from `position` to one fence's edge (negative inside), from its `display` geometry. */
function fenceDistance(position, fence) {
  const shape = fence.display || fence
  if (fence.kind === 'circle') return distanceM(position, shape.center) - fence.radius_m
  return polygonDistance(position, shape.points || [])
}

/**
 * A hint for the page: {inside, distanceM} to the nearest fence — inside when the position lies in one, else the
 * metres to the nearest edge; null without fences or position.
 */
function estimate(position, fences) {
  if (!position || !fences || !fences.length) return null
  const nearest = Math.min(...fences.map((fence) => fenceDistance(position, fence)))
  return { inside: nearest <= 0, distanceM: Math.max(0, nearest) }
}

/** <map> circles and polygons for the fences (their GCJ-02 `display` geometry), the position's accuracy circle
 * and a point being picked ({latitude, longitude, radius}). */
function mapShapes(fences, position, picked) {
  const circles = []
  const polygons = []
  ;(fences || []).forEach((fence) => {
    const shape = fence.display
    if (!shape) return
    if (fence.kind === 'circle') {
      circles.push({
        latitude: shape.center.latitude,
        longitude: shape.center.longitude,
        radius: fence.radius_m,
        color: FENCE_STROKE,
        fillColor: FENCE_FILL,
        strokeWidth: 2
      })
    } else {
      polygons.push({ points: shape.points, strokeColor: FENCE_STROKE, fillColor: FENCE_FILL, strokeWidth: 2 })
    }
  })
  if (position && position.accuracy) {
    circles.push({
      latitude: position.latitude,
      longitude: position.longitude,
      radius: position.accuracy,
      color: ME_STROKE,
      fillColor: ME_FILL,
      strokeWidth: 1
    })
  }
  if (picked) {
    circles.push({
      latitude: picked.latitude,
      longitude: picked.longitude,
      radius: picked.radius,
      color: PICK_STROKE,
      fillColor: PICK_FILL,
      strokeWidth: 2
    })
  }
  return { circles, polygons }
}

/** Where to centre the map: the position, else the first fence, else null. */
function mapCenter(fences, position) {
  if (position) return { latitude: position.latitude, longitude: position.longitude }
  const fence = (fences || []).find((f) => f.display)
  if (!fence) return null
  if (fence.kind === 'circle') return Object.assign({}, fence.display.center)
  const points = fence.display.points
  return {
    latitude: points.reduce((sum, p) => sum + p.latitude, 0) / points.length,
    longitude: points.reduce((sum, p) => sum + p.longitude, 0) / points.length
  }
}

module.exports = { distanceM, fenceDistance, estimate, mapShapes, mapCenter }
