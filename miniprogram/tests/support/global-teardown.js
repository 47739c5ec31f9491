// Stops the live server started by global-setup.js: SIGTERM, then SIGKILL if it lingers; removes its log
// unless KEEP_SERVER_LOG=1.
const fs = require('fs')

module.exports = async function globalTeardown() {
  const child = globalThis.__LIVE_SERVER_PROCESS__
  const logFile = globalThis.__LIVE_SERVER_LOG__
  if (logFile && process.env.KEEP_SERVER_LOG !== '1') {
    // Removed at the end of the run; on Linux the server may still write to it until it exits.
    process.on('exit', () => fs.rmSync(logFile, { force: true }))
  }
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.stdin.end()
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
