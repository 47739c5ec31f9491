// A stand-in for the `wx` global: storage in memory, UI calls recorded, and request/login delegated to the
// transport a test chooses (a scripted fake for unit tests, the live backend for e2e tests).

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

/**
 * createWx({request, login}):
 *   request(options) → {statusCode, data, header} | Promise of it; throw/reject {errMsg} for a network failure.
 *   login() → {code} | Promise of it.
 * The returned object also has `calls` (everything recorded) and small helpers prefixed with `__`.
 */
function createWx({ request, login } = {}) {
  const storage = new Map()
  const calls = { requests: [], toasts: [], navigations: [], modals: [], titles: [] }
  let modalAnswer = true

  function callback(options, ok, result) {
    const fn = ok ? options.success : options.fail
    if (fn) fn(result)
    if (options.complete) options.complete(result)
  }

  function navigate(type) {
    return (options) => {
      calls.navigations.push({ type, url: options.url })
      setTimeout(() => callback(options, true, { errMsg: `${type}:ok` }), 0)
    }
  }

  return {
    calls,

    request(options) {
      const method = (options.method || 'GET').toUpperCase()
      calls.requests.push({ url: options.url, method, data: clone(options.data), header: clone(options.header) })
      const task = { abort() {} }
      Promise.resolve()
        .then(() => {
          if (!request) throw { errMsg: 'request:fail no transport in this test' }
          return request(Object.assign({}, options, { method }))
        })
        .then(
          (res) => callback(options, true, Object.assign({ header: {}, errMsg: 'request:ok' }, res)),
          (err) => callback(options, false, { errMsg: (err && err.errMsg) || 'request:fail ' + err })
        )
      return task
    },

    login(options) {
      Promise.resolve()
        .then(() => {
          if (!login) throw new Error('no wx.login in this test')
          return login()
        })
        .then(
          (res) => callback(options, true, Object.assign({ errMsg: 'login:ok' }, res)),
          (err) => callback(options, false, { errMsg: 'login:fail ' + (err && err.message) })
        )
    },

    getStorageSync(key) {
      return storage.has(key) ? clone(storage.get(key)) : ''
    },
    setStorageSync(key, value) {
      storage.set(key, clone(value))
    },
    removeStorageSync(key) {
      storage.delete(key)
    },
    clearStorageSync() {
      storage.clear()
    },

    showToast(options) {
      calls.toasts.push(options.title)
    },
    hideToast() {},
    showLoading() {},
    hideLoading() {},
    showModal(options) {
      calls.modals.push({ title: options.title, content: options.content })
      setTimeout(() => callback(options, true, { confirm: modalAnswer, cancel: !modalAnswer }), 0)
    },
    setNavigationBarTitle(options) {
      calls.titles.push(options.title)
    },
    stopPullDownRefresh() {},

    navigateTo: navigate('navigateTo'),
    redirectTo: navigate('redirectTo'),
    reLaunch: navigate('reLaunch'),
    switchTab: navigate('switchTab'),
    navigateBack: navigate('navigateBack'),

    // Test helpers.
    __answerModals(confirm) {
      modalAnswer = confirm
    },
    __lastNavigation() {
      return calls.navigations[calls.navigations.length - 1]
    },
    __lastToast() {
      return calls.toasts[calls.toasts.length - 1]
    }
  }
}

module.exports = { createWx }
