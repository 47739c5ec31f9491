// utils/heartbeat.js with jest's fake timers (Date.now moves with them): the clock runs only between play() and
// pause(), heartbeats go every interval and once more on pause/stop, seconds the server did not settle go again,
// and a refused session stops for good.
const { createHeartbeat } = require('../../utils/heartbeat')
const { ApiError } = require('../../utils/request')

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-07-01T01:00:00Z') })
})

afterEach(() => {
  jest.useRealTimers()
})

// A scripted server: answers each heartbeat with the next scripted answer (default ok), records the bodies.
function server(script = []) {
  const bodies = []
  const send = jest.fn(async (body) => {
    bodies.push(body)
    const next = script.length ? script.shift() : { outcome: 'ok' }
    if (next instanceof Error) throw next
    return Object.assign({ credited_s: body.elapsed, lesson_credited_s: 0, completed: false }, next)
  })
  return { send, bodies }
}

function make(send, extra) {
  let position = 0
  const events = { beats: [], stops: [], troubles: [] }
  const hb = createHeartbeat(
    Object.assign(
      {
        lessonId: 7,
        token: 'a'.repeat(32),
        intervalS: 30,
        send,
        position: () => position,
        onBeat: (answer, body) => events.beats.push({ answer, body }),
        onStop: (reason) => events.stops.push(reason),
        onTrouble: (err) => events.troubles.push(err)
      },
      extra
    )
  )
  return { hb, events, setPosition: (p) => (position = p) }
}

test('while playing, one heartbeat every interval with the seconds played, seq from 1, visible', async () => {
  const { send, bodies } = server()
  const { hb, setPosition } = make(send)
  hb.play()
  setPosition(31.7)
  await jest.advanceTimersByTimeAsync(30000)
  setPosition(62)
  await jest.advanceTimersByTimeAsync(30000)
  expect(bodies).toEqual([
    { lesson_id: 7, token: 'a'.repeat(32), seq: 1, position: 31, elapsed: 30, visible: true },
    { lesson_id: 7, token: 'a'.repeat(32), seq: 2, position: 62, elapsed: 30, visible: true }
  ])
})

test('nothing is counted or sent while paused; pause reports what was counted since the last heartbeat', async () => {
  const { send, bodies } = server()
  const { hb } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(12000)
  await hb.pause()
  expect(bodies.map((b) => [b.seq, b.elapsed])).toEqual([[1, 12]])
  await jest.advanceTimersByTimeAsync(300000)
  expect(send).toHaveBeenCalledTimes(1)
  hb.play()
  await jest.advanceTimersByTimeAsync(30000)
  expect(bodies.map((b) => [b.seq, b.elapsed])).toEqual([[1, 12], [2, 30]])
})

test('seconds of a heartbeat the server did not settle (too_soon, duplicate) go with the next one', async () => {
  const { send, bodies } = server([{ outcome: 'ok' }, { outcome: 'too_soon' }, { outcome: 'ok' }])
  const { hb, events } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(30000)
  await jest.advanceTimersByTimeAsync(4000)
  await hb.pause() // 4 s after a heartbeat: a burst to the server
  hb.play()
  await jest.advanceTimersByTimeAsync(30000)
  expect(bodies.map((b) => [b.seq, b.elapsed])).toEqual([[1, 30], [2, 4], [3, 34]])
  expect(events.beats.map((b) => b.answer.outcome)).toEqual(['ok', 'too_soon', 'ok'])
})

test('background answers settle the seconds like ok ones (the server moved its clock on)', async () => {
  const { send, bodies } = server([{ outcome: 'background' }])
  const { hb } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(60000)
  expect(bodies.map((b) => b.elapsed)).toEqual([30, 30])
})

test('a superseded session stops for good and says why; play() does not restart it', async () => {
  const superseded = new ApiError({ message: '该课时已在别处打开', code: 'session_superseded', status: 409 })
  const { send } = server([{ outcome: 'ok' }, superseded])
  const { hb, events } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(60000)
  expect(events.stops).toEqual([{ code: 'session_superseded', message: '该课时已在别处打开', status: 409 }])
  expect(hb.state()).toMatchObject({ running: false, stopped: true })
  hb.play()
  await jest.advanceTimersByTimeAsync(120000)
  await hb.stop()
  expect(send).toHaveBeenCalledTimes(2)
})

test('no answer, a 429 or a 5xx: the seconds stay for the next heartbeat and the clock keeps running', async () => {
  const lost = new ApiError({ message: '网络不给力，请稍后重试', code: 'network_error', status: 0 })
  const busy = new ApiError({ message: '请求过于频繁', code: 'rate_limited', status: 429 })
  const { send, bodies } = server([lost, busy, { outcome: 'ok' }])
  const { hb, events } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(90000)
  expect(bodies.map((b) => [b.seq, b.elapsed])).toEqual([[1, 30], [2, 60], [3, 90]])
  expect(events.troubles.map((e) => e.code)).toEqual(['network_error', 'rate_limited'])
  expect(events.stops).toEqual([])
  expect(hb.state().running).toBe(true)
})

test('other refusals (the lesson gone: 404) stop the heartbeat', async () => {
  const gone = new ApiError({ message: '课时不存在', code: 'not_found', status: 404 })
  const { send } = server([gone])
  const { hb, events } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(30000)
  expect(events.stops[0]).toMatchObject({ code: 'not_found', status: 404 })
})

test('heartbeats never overlap: one waiting for a slow answer holds the next back, in seq order', async () => {
  const order = []
  let release
  const send = jest.fn((body) => {
    order.push(`send ${body.seq}`)
    if (body.seq === 1) {
      return new Promise((resolve) => {
        release = () => {
          order.push('answer 1')
          resolve({ outcome: 'ok' })
        }
      })
    }
    return Promise.resolve({ outcome: 'ok' })
  })
  const { hb } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(30000)
  const paused = hb.pause()
  await jest.advanceTimersByTimeAsync(5000)
  expect(order).toEqual(['send 1'])
  release()
  await paused
  expect(order).toEqual(['send 1', 'answer 1'])
  // The pause came right after a heartbeat: nothing counted since, nothing more to send.
  expect(send).toHaveBeenCalledTimes(1)
})

test('stop() sends the last seconds once; under a second is not worth a heartbeat', async () => {
  const { send, bodies } = server()
  const { hb } = make(send)
  hb.play()
  await jest.advanceTimersByTimeAsync(45500)
  await hb.stop()
  expect(bodies.map((b) => b.elapsed)).toEqual([30, 15])
  await hb.stop()
  hb.play()
  await jest.advanceTimersByTimeAsync(60000)
  expect(send).toHaveBeenCalledTimes(2)

  const quick = server()
  const other = make(quick.send)
  other.hb.play()
  await jest.advanceTimersByTimeAsync(400)
  await other.hb.stop()
  expect(quick.send).not.toHaveBeenCalled()
})

test('proxy study names the member; elapsed never exceeds what the API accepts', async () => {
  const lost = new ApiError({ message: '网络不给力，请稍后重试', code: 'network_error', status: 0 })
  const script = Array.from({ length: 130 }, () => lost)
  const { send, bodies } = server(script)
  const { hb } = make(send, { memberId: 42, intervalS: 30 })
  hb.play()
  await jest.advanceTimersByTimeAsync(130 * 30000)
  expect(bodies[0].member_id).toBe(42)
  expect(Math.max(...bodies.map((b) => b.elapsed))).toBe(3600)
})
