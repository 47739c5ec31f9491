// Duty check-in against the live backend: the resident cadre of 三村 (cadre_v3, tests/live_server.py: a 300 m
// fence around the village's venue stored in WGS-84, on duty today) finds the check-in on the home page, checks in
// at the village committee — the answer is lost on the way back, and the retry with the same client_id leaves
// one record — then checks in 3 km away with a remark and sees the server's verdict (outside, how far, the
// impossible-speed flag); 甲二镇's department opens the presence board and finds the cadre present.
// Accounts: cadre_v3 belongs to this file; town_a2_admin only reads here.
const { useLiveServer } = require('../support/live')
const { launchApp, openPage, event } = require('../support/harness')
const { loginWithAccount, followNavigation } = require('../support/flows')
const { apiAs } = require('../support/meetings')
const labels = require('../../utils/duty-labels')

let live
let network

function start() {
  network = { loseNextCheckinAnswer: false }
  live = useLiveServer({
    // A flaky village network: the check-in reaches the server, its answer never comes back.
    intercept: async (options, send) => {
      const res = await send(options)
      if (network.loseNextCheckinAnswer && options.method === 'POST' && options.url.endsWith('/api/duty/checkins')) {
        network.loseNextCheckinAnswer = false
        throw { errMsg: 'request:fail timeout' }
      }
      return res
    }
  })
  launchApp()
}

// Where the phone is, in GCJ-02 as wx.getLocation({type: 'gcj02'}) gives it: near 三村's venue, or 3.3 km north.
const at = (dLat, accuracy) => {
  const venue = live.info.venues.v3
  return { latitude: Number((venue.latitude + dLat).toFixed(6)), longitude: venue.longitude, accuracy }
}
const checkinPosts = () => wx.calls.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/api/duty/checkins'))

test('a cadre checks in inside (a retry keeps one record), then outside with a remark; the department sees them present', async () => {
  start()
  const { accounts, orgs, venues } = live.info
  await loginWithAccount(accounts.cadre_v3.username, live.info.password)

  // Home: the check-in entry and today's due item for 三村.
  const home = await openPage('/pages/home/home')
  expect(home.data.entries.map((e) => e.key)).toContain('duty_checkin')
  const due = home.data.due.find((item) => item.key === `duty_checkin_${orgs.v3.id}`)
  expect(due.title).toBe('三村党支部值班签到')
  wx.__setLocation(at(0.0003, 12))
  home.onDueSelect(event({ detail: { key: due.key, page: due.page } }))
  expect(wx.__lastNavigation().url).toBe(`/pages/duty/checkin?org_id=${orgs.v3.id}`)
  const page = await followNavigation()

  // The fence is stored in WGS-84; the map draws it where the venue is on the (GCJ-02) map.
  expect(page.data.duty.orgName).toBe('三村党支部')
  const fenceCircle = page.data.map.circles[0]
  expect(fenceCircle.radius).toBe(300)
  expect(fenceCircle.latitude).toBeCloseTo(venues.v3.latitude, 6)
  expect(fenceCircle.longitude).toBeCloseTo(venues.v3.longitude, 6)
  expect(page.data.map.circles[1]).toMatchObject({ radius: 12 })
  expect(page.data.hint.outside).toBe(false)

  // Inside, but the answer is lost: the check-in waits on the phone; the retry sends it again unchanged.
  network.loseNextCheckinAnswer = true
  await page.onCheckin(event({ dataset: { kind: 'checkin' } }))
  expect(page.data.pending).toHaveLength(1)
  expect(page.data.verdict).toBeNull()
  const stored = page.data.pending[0]
  await page.onRetry(event({ dataset: { id: stored.clientId } }))
  const [first, retry] = checkinPosts().map((r) => r.data)
  expect(retry).toEqual(first)
  expect(first).toMatchObject({ org_id: orgs.v3.id, kind: 'checkin', coord_sys: 'gcj02', accuracy: 12 })
  expect(page.data.pending).toEqual([])
  expect(page.data.verdict).toMatchObject({ result: 'inside', resultText: '在签到范围内' })
  // The shift starts half an hour after the server started (on time), unless that is past 23:00 local.
  expect(Object.values(labels.TIMING_LABELS)).toContain(page.data.verdict.timingLabel)
  const cadre = await apiAs('cadre_v3')
  const mine = await cadre.call('GET', `/api/duty/checkins?org_id=${orgs.v3.id}`)
  expect(mine.items.filter((c) => c.client_id === first.client_id)).toHaveLength(1)
  expect(mine.meta.total).toBe(1)

  // 3.3 km away a moment later, with a remark: kept, judged outside, flagged.
  wx.__setLocation(at(0.03, 10))
  page.onRemarkInput(event({ value: '到镇里开会' }))
  await page.onCheckin(event({ dataset: { kind: 'checkin' } }))
  expect(wx.calls.modals).toEqual([]) // the remark was typed already
  const outside = page.data.verdict
  expect(outside.result).toBe('outside')
  expect(outside.resultText).toMatch(/^不在签到范围内，相距 (\d+ 米|\d\.\d 公里)$/)
  expect(outside.remark).toBe('到镇里开会')
  expect(outside.badges.map((b) => b.label)).toContain('移动速度不可能')
  expect(outside.badges.find((b) => b.flag === 'impossible_speed').reason).not.toBe('')
  expect(page.data.duty.checkins.map((c) => c.result)).toEqual(['inside', 'outside']) // the day in order

  // My history of the month shows both, with the flag.
  page.onOpenHistory()
  const history = await followNavigation()
  expect(history.data.rows.map((r) => r.resultLabel)).toEqual(['不在范围内', '在范围内'])
  expect(history.data.rows[0].badges.map((b) => b.flag)).toContain('impossible_speed')
  expect(history.data.rows[0].orgName).toBe('三村党支部')
  expect(history.data.summary).toMatchObject({ checkins: 2, flagged: 1 })

  // The township's department: the board from its home entry, 三村 among its villages, then the cadre present.
  await loginWithAccount(accounts.town_a2_admin.username, live.info.password)
  const adminHome = await openPage('/pages/home/home')
  const entry = adminHome.data.entries.find((e) => e.key === 'duty_board')
  adminHome.onEntrySelect(event({ detail: { key: entry.key, page: entry.page } }))
  const board = await followNavigation()
  expect(board.data.orgName).toBe(orgs.town_a2.name)
  const village = board.data.children.find((c) => c.id === orgs.v3.id)
  expect([village.rostered, village.present]).toEqual([1, 1])
  board.onOpenChild(event({ dataset: { id: orgs.v3.id } }))
  const villageBoard = await followNavigation()
  const row = villageBoard.data.cadres.find((c) => c.memberId === accounts.cadre_v3.id)
  expect(row.statuses.map((s) => s.label)).toEqual(['在岗', '范围外', '异常'])
  expect(row.checkins).toBe(2)
  expect(villageBoard.data.isBranch).toBe(true)

  // The village's fences, which this department may edit.
  villageBoard.onOpenFences()
  const fences = await followNavigation()
  expect(fences.data.canEdit).toBe(true)
  expect(fences.data.rows.map((f) => f.name)).toEqual(['三村村委会'])
})
