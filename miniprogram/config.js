// Where the mini-program finds its API: the one place to change it per environment.
// In WeChat devtools "不校验合法域名" lets a local server (http://127.0.0.1:5000) work during development;
// a release build needs an HTTPS domain registered in the mini-program console (request 合法域名).
module.exports = {
  apiBase: 'http://127.0.0.1:5000',
  // Requests are given up after this long; weak rural networks make a short timeout a false alarm.
  timeoutMs: 15000,
  // Idempotent requests that fail on the network are retried this many more times, waiting
  // retryDelayMs, then twice that, between attempts.
  retries: 2,
  retryDelayMs: 500,
  // A phone photo is several MB: uploads get longer than ordinary requests before they count as failed.
  uploadTimeoutMs: 60000
}
