// utils/duty-labels.js and utils/duty-geo.js: the Chinese the duty pages show, in step with the server's words,
// and the map shapes and the pre-send hint (GCJ-02 throughout).
const fs = require('fs')
const path = require('path')
const labels = require('../../utils/duty-labels')
const geo = require('../../utils/duty-geo')

const SERVER = path.resolve(__dirname, '../../..')

// The label dicts of a Python module, read from its source: {NAME: {key: label}}.
function pythonDict(file, name) {
  const source = fs.readFileSync(path.join(SERVER, file), 'utf8')
  const start = source.indexOf(`${name} = {`)
  const body = source.slice(start, source.indexOf('}', start))
  const out = {}
  body.replace(/"([a-z_]+)":\s*"([^"]+)"/g, (_, key, label) => {
    out[key] = label
  })
  return out
}

test('flags, results and timings say what the server says', () => {
  expect(labels.FLAG_LABELS).toEqual(pythonDict('services/duty_signals.py', 'FLAG_LABELS'))
  expect(labels.RESULT_LABELS).toEqual(pythonDict('blueprints/duty_presenters.py', 'RESULT_LABELS'))
  expect(labels.TIMING_LABELS).toEqual(pythonDict('blueprints/duty_presenters.py', 'TIMING_LABELS'))
  expect(Object.keys(labels.FLAG_LABELS)).toHaveLength(6)
})

test('distances and verdicts in one line', () => {
  expect(labels.distanceText(36.4)).toBe('36 米')
  expect(labels.distanceText(999.4)).toBe('999 米')
  expect(labels.distanceText(1234)).toBe('1.2 公里')
  expect(labels.distanceText(null)).toBe('')
  expect(labels.resultText('inside', 0)).toBe('在签到范围内')
  expect(labels.resultText('outside', 812.3)).toBe('不在签到范围内，相距 812 米')
  expect(labels.resultText('outside', null)).toBe('不在签到范围内')
  expect(labels.resultText('uncertain', 30)).toBe('无法确定是否在范围内')
})

test('a check-in as the pages show it: server labels first, local ones as fallback', () => {
  const view = labels.checkinView({
    id: 5,
    client_id: 'd-abc-12345678',
    org_id: 14,
    kind: 'checkout',
    result: 'outside',
    result_label: '不在范围内',
    result_reason: '距三村村委会812米',
    distance_m: 812.3,
    timing: 'early',
    timing_label: '早到/早退',
    timing_reason: null,
    read_at: '2026-07-08T17:05:00+08:00',
    duty_date: '2026-07-08',
    remark: '入户走访',
    flags: ['impossible_speed', 'late_upload'],
    flag_labels: { impossible_speed: '移动速度不可能' },
    flag_reasons: { impossible_speed: '10分钟内移动了30公里' }
  })
  expect(view).toMatchObject({
    kindLabel: '签退',
    resultText: '不在签到范围内，相距 812 米',
    distanceText: '812 米',
    timingLabel: '早到/早退',
    timeText: '07-08 17:05',
    clockText: '17:05',
    remark: '入户走访',
    flagged: true
  })
  expect(view.badges).toEqual([
    { flag: 'impossible_speed', label: '移动速度不可能', reason: '10分钟内移动了30公里' },
    { flag: 'late_upload', label: '延迟上传', reason: '' }
  ])
  const inside = labels.checkinView({ kind: 'checkin', result: 'inside', distance_m: 0, timing: 'late', flags: [] })
  expect([inside.resultLabel, inside.distanceText, inside.timingLabel, inside.flagged]).toEqual(['在范围内', '', '迟到', false])
})

test('shifts, exceptions, board counts, cadre statuses and month ranges', () => {
  expect(labels.shiftText({ weekday: 0, starts_at: '08:30', ends_at: '17:30' })).toBe('周一 08:30–17:30')
  expect(labels.shiftText(null)).toBe('今天不值班')
  expect(labels.exceptionText({ kind_label: '请假', starts_on: '2026-07-01', ends_on: '2026-07-03' })).toBe(
    '请假 07-01 至 07-03'
  )
  const counts = labels.boardCounts({ rostered: 4, present: 2, absent: 1, flagged: 1 })
  expect(counts.map((c) => `${c.label}${c.value}`)).toEqual([
    '应到4', '在岗2', '迟到0', '缺勤1', '未确认0', '请假出差0', '范围外0', '异常1'
  ])
  const status = (row) => labels.cadreStatus(row).map((s) => s.label)
  expect(status({ rostered: true, present: true, late: true, outside: true })).toEqual(['在岗', '迟到', '范围外'])
  expect(status({ rostered: true, absent: true })).toEqual(['缺勤'])
  expect(status({ rostered: true, unconfirmed: true, flagged: true })).toEqual(['未确认', '异常'])
  expect(status({ rostered: false, on_leave: true })).toEqual(['请假出差'])
  expect(status({ rostered: false, on_leave: false })).toEqual(['今日不值班'])
  expect(labels.monthRange('2026-02')).toEqual({ from: '2026-02-01', to: '2026-02-28' })
  expect(labels.monthRange('2028-02')).toEqual({ from: '2028-02-01', to: '2028-02-29' })
  expect(labels.monthRange('2026-12')).toEqual({ from: '2026-12-01', to: '2026-12-31' })
})

// A point `metres` north of `p` (1° of latitude ≈ 111.2 km on the haversine sphere).
const north = (p, metres) => ({ latitude: p.latitude + metres / 111195, longitude: p.longitude })
const VENUE = { latitude: 26.5412, longitude: 106.7553 }
const circle = { kind: 'circle', radius_m: 300, display: { coord_sys: 'gcj02', center: VENUE, points: null } }
const d = 0.002
const square = {
  kind: 'polygon',
  display: {
    coord_sys: 'gcj02',
    center: null,
    points: [
      { latitude: VENUE.latitude - d, longitude: VENUE.longitude - d },
      { latitude: VENUE.latitude - d, longitude: VENUE.longitude + d },
      { latitude: VENUE.latitude + d, longitude: VENUE.longitude + d },
      { latitude: VENUE.latitude + d, longitude: VENUE.longitude - d }
    ]
  }
}

test('the hint: inside a circle or polygon, else metres to the nearest edge', () => {
  expect(geo.distanceM(VENUE, north(VENUE, 500))).toBeCloseTo(500, 0)
  expect(geo.estimate(north(VENUE, 100), [circle])).toEqual({ inside: true, distanceM: 0 })
  const out = geo.estimate(north(VENUE, 1000), [circle])
  expect(out.inside).toBe(false)
  expect(out.distanceM).toBeCloseTo(700, 0)
  expect(geo.estimate(north(VENUE, 150), [square]).inside).toBe(true)
  const edge = d * 111195
  const beyond = geo.estimate(north(VENUE, edge + 100), [square])
  expect(beyond.inside).toBe(false)
  expect(beyond.distanceM).toBeCloseTo(100, 0)
  // The nearest of several fences decides.
  expect(geo.estimate(north(VENUE, 1000), [square]).distanceM).toBeCloseTo(1000 - edge, 0)
  expect(geo.estimate(north(VENUE, 1000), [square, circle]).distanceM).toBeCloseTo(700, 0)
  expect(geo.estimate(null, [circle])).toBeNull()
  expect(geo.estimate(VENUE, [])).toBeNull()
})

test('map shapes: fences from their display geometry, the accuracy circle, a picked point; and the centre', () => {
  const me = { latitude: 26.54, longitude: 106.75, accuracy: 25 }
  const shapes = geo.mapShapes([circle, square], me, { latitude: 26.6, longitude: 106.8, radius: 150 })
  expect(shapes.circles.map((c) => [c.latitude, c.longitude, c.radius])).toEqual([
    [VENUE.latitude, VENUE.longitude, 300],
    [26.54, 106.75, 25],
    [26.6, 106.8, 150]
  ])
  expect(shapes.polygons).toHaveLength(1)
  expect(shapes.polygons[0].points).toEqual(square.display.points)
  expect(geo.mapCenter([circle], me)).toEqual({ latitude: 26.54, longitude: 106.75 })
  expect(geo.mapCenter([circle], null)).toEqual(VENUE)
  const mid = geo.mapCenter([square], null)
  expect(mid.latitude).toBeCloseTo(VENUE.latitude, 9)
  expect(mid.longitude).toBeCloseTo(VENUE.longitude, 9)
  expect(geo.mapCenter([], null)).toBeNull()
})
