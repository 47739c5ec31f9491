// Starts the backend's live test server once for the whole run (../tests/live_server.py: a throwaway SQLite
// database with the standard test world). It prints one JSON line — base_url, password, accounts — which is
// handed to the test files in process.env.LIVE_SERVER. Unit and component tests do not need it; when it cannot
// start, the e2e tests fail with the reason instead of the whole run stopping here.
const { spawn } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')

const MINIPROGRAM = path.resolve(__dirname, '../..')
const REPO = path.resolve(MINIPROGRAM, '..')
const SCRIPT = path.join(REPO, 'tests', 'live_server.py')
const START_TIMEOUT_MS = 60000

// PYTHON may be a path (relative to miniprogram/) or a command on PATH.
function pythonCommand() {
  const configured = process.env.PYTHON
  if (!configured) return path.join(REPO, '.venv', 'bin', 'python')
  return configured.includes('/') ? path.resolve(MINIPROGRAM, configured) : configured
}

function tail(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n')
  } catch (err) {
    return '(no log)'
  }
}

function start() {
  // Removed by the teardown unless KEEP_SERVER_LOG=1; kept when the server failed to start.
  const logFile = path.join(os.tmpdir(), `miniprogram-live-server-${process.pid}.log`)
  globalThis.__LIVE_SERVER_LOG__ = logFile
  const log = fs.createWriteStream(logFile)
  const child = spawn(pythonCommand(), [SCRIPT], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] })
  child.stderr.pipe(log)
  globalThis.__LIVE_SERVER_PROCESS__ = child

  return new Promise((resolve, reject) => {
    let buffered = ''
    let settled = false
    const fail = (reason) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      globalThis.__LIVE_SERVER_LOG__ = null
      log.end(() => reject(new Error(`${reason}; server log ${logFile} ends:\n${tail(logFile)}`)))
    }
    const timer = setTimeout(() => fail(`live server printed nothing within ${START_TIMEOUT_MS / 1000}s`), START_TIMEOUT_MS)
    child.on('error', (err) => fail(`cannot run ${pythonCommand()}: ${err.message}`))
    child.on('exit', (code, signal) => fail(`live server exited early (code ${code}, signal ${signal})`))
    child.stdout.on('data', (chunk) => {
      if (settled) return log.write(chunk)
      buffered += chunk.toString('utf8')
      const newline = buffered.indexOf('\n')
      if (newline < 0) return
      settled = true
      clearTimeout(timer)
      try {
        resolve(JSON.parse(buffered.slice(0, newline)))
      } catch (err) {
        reject(new Error(`live server's first line is not JSON: ${buffered.slice(0, 200)}`))
      }
    })
  })
}

module.exports = async function globalSetup() {
  if (!fs.existsSync(SCRIPT)) {
    process.env.LIVE_SERVER = JSON.stringify({ error: `${SCRIPT} not found: the e2e tests need the backend's live test server` })
    return
  }
  try {
    const info = await start()
    process.env.LIVE_SERVER = JSON.stringify(info)
  } catch (err) {
    process.env.LIVE_SERVER = JSON.stringify({ error: err.message })
  }
}
