// Study heartbeats for one open lesson (POST /api/learning/heartbeats, docs/api-learning.md).
//
// The phone only counts the time the lesson is really being studied: the clock runs between play() and pause()
// (a video or audio playing, an article on screen, slides open) and nowhere else. Every `intervalS` seconds while it
// runs, and once more when it stops, the seconds counted since the last credited heartbeat go to the server as
// `elapsed`, with a `seq` that counts up from 1 for this session token. The server decides what it credits:
//
// - `ok` / `background`: the server's clock moved on, so those seconds are settled (credited or not);
// - `too_soon` (a burst) and `duplicate`: nothing was settled, so the seconds stay and go with the next heartbeat
//   (the server says the same: "the next heartbeat credits it");
// - 409 `session_superseded` (the lesson was opened elsewhere, or another lesson was) and any other refusal: the
//   heartbeat stops for good and says why (`onStop`);
// - no answer (weak network) or 429/5xx: the seconds stay for the next heartbeat; nothing else changes.
//
// Heartbeats never overlap: each waits for the answer of the one before, so seq order is the sending order.
const MAX_ELAPSED_S = 3600
const MAX_POSITION_S = 24 * 3600
const SETTLED = ['ok', 'background']

function clampInt(value, max) {
  return Math.max(0, Math.min(max, Math.floor(Number(value) || 0)))
}

/**
 * createHeartbeat({lessonId, token, intervalS = 30, memberId, send, position, onBeat, onStop, onTrouble, now})
 *   send(body) → Promise of the server's answer {outcome, message, credited_s, lesson_credited_s, completed};
 *     rejects with an ApiError {status, code, message} when refused or when no answer came.
 *   position() → where the member is in the lesson, in seconds (video/audio), else 0.
 *   onBeat(answer, body), onStop({code, message}), onTrouble(err): what the page shows.
 *   now() → milliseconds (Date.now by default; jest's fake timers move it too).
 * Returns {play, pause, stop, beat, state}.
 */
function createHeartbeat(options) {
  const opts = Object.assign({ intervalS: 30, position: () => 0 }, options)
  const clock = opts.now || (() => Date.now())
  let seq = 0
  let running = false
  let since = 0
  let pendingMs = 0
  let timer = null
  let stopped = false
  let chain = Promise.resolve()

  function accrue() {
    if (!running) return
    const t = clock()
    pendingMs += Math.max(0, t - since)
    since = t
  }

  function stopFor(reason) {
    stopped = true
    running = false
    clearInterval(timer)
    timer = null
    if (opts.onStop) opts.onStop(reason)
  }

  async function sendOne() {
    if (stopped) return null
    accrue()
    const elapsed = clampInt(pendingMs / 1000, MAX_ELAPSED_S)
    if (elapsed < 1) return null
    seq += 1
    const body = {
      lesson_id: opts.lessonId,
      token: opts.token,
      seq,
      position: clampInt(opts.position(), MAX_POSITION_S),
      elapsed,
      visible: true
    }
    if (opts.memberId) body.member_id = opts.memberId
    let answer
    try {
      answer = await opts.send(body)
    } catch (err) {
      const status = (err && err.status) || 0
      if (status >= 400 && status < 500 && status !== 429) {
        stopFor({ code: err.code || 'refused', message: err.message, status })
      } else if (opts.onTrouble) {
        opts.onTrouble(err)
      }
      return null
    }
    if (SETTLED.includes(answer.outcome)) pendingMs = Math.max(0, pendingMs - elapsed * 1000)
    if (opts.onBeat) opts.onBeat(answer, body)
    return answer
  }

  // Queued behind the heartbeat on its way, never alongside it.
  function beat() {
    const next = chain.then(sendOne, sendOne)
    chain = next.catch(() => null)
    return next
  }

  function play() {
    if (stopped || running) return
    running = true
    since = clock()
    timer = setInterval(beat, opts.intervalS * 1000)
  }

  /** Stops the clock and reports the seconds counted so far (resolves with that heartbeat's answer, or null). */
  function pause() {
    if (!running) return chain.then(() => null)
    accrue()
    running = false
    clearInterval(timer)
    timer = null
    return beat()
  }

  /** The last heartbeat of this session (onUnload): reports what is left, then sends nothing more. */
  async function stop() {
    const last = await pause()
    stopped = true
    return last
  }

  function state() {
    return { seq, running, stopped, pendingS: Math.floor((pendingMs + (running ? clock() - since : 0)) / 1000) }
  }

  return { play, pause, stop, beat, state }
}

module.exports = { createHeartbeat, MAX_ELAPSED_S }
