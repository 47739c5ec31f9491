// A stand-in for the `wx` global: storage and files in memory, UI calls recorded, and request/uploadFile/login
// delegated to the transport a test chooses (a scripted fake for unit tests, the live backend for e2e tests).
// Device answers (location, camera, action sheets, network changes) are set by the test with the `__` helpers.
const { TINY_JPEG } = require('./photo')

const TEMP_PREFIX = 'http://tmp/'
const SAVED_PREFIX = 'wxfile://store/'

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

/**
 * createWx({request, uploadFile, login}):
 *   request(options) → {statusCode, data, header} | Promise of it; throw/reject {errMsg} for a network failure.
 *   uploadFile(options) → the same, `options.file` being {path, name, content: Buffer}; `data` a string, as wx.
 *   login() → {code} | Promise of it.
 * The returned object also has `calls` (everything recorded) and small helpers prefixed with `__`.
 * Files live in `files` (path → Buffer): the camera writes temporary ones, wx.saveFile moves them to saved ones,
 * and `__restart()` loses the temporary ones, as closing the app does.
 */
function createWx({ request, uploadFile, login, downloadFile } = {}) {
  const storage = new Map()
  const files = new Map()
  const calls = {
    requests: [],
    uploads: [],
    toasts: [],
    navigations: [],
    modals: [],
    titles: [],
    locations: [],
    media: [],
    previews: [],
    actionSheets: [],
    downloads: [],
    documents: []
  }
  let modalAnswer = true
  let modalContent = ''
  let actionSheetAnswer = 0
  let location = { latitude: 26.5801, longitude: 106.7102, accuracy: 15 }
  let chosenLocation = null
  let cameraContent = TINY_JPEG
  let saveFileFails = false
  let fileCounter = 0
  const networkListeners = []

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

    uploadFile(options) {
      const record = {
        url: options.url,
        filePath: options.filePath,
        name: options.name,
        formData: clone(options.formData),
        header: clone(options.header)
      }
      calls.uploads.push(record)
      const task = { abort() {}, onProgressUpdate() {} }
      Promise.resolve()
        .then(() => {
          if (!files.has(options.filePath)) throw { errMsg: 'uploadFile:fail file not found' }
          if (!uploadFile) throw { errMsg: 'uploadFile:fail no transport in this test' }
          const file = {
            path: options.filePath,
            name: options.filePath.split('/').pop(),
            content: files.get(options.filePath)
          }
          return uploadFile(Object.assign({}, options, { file }))
        })
        .then(
          (res) => callback(options, true, Object.assign({ errMsg: 'uploadFile:ok' }, res)),
          (err) => callback(options, false, { errMsg: (err && err.errMsg) || 'uploadFile:fail ' + err })
        )
      return task
    },

    // downloadFile(options) → {statusCode, body: Buffer} | Promise of it (the duty board's month report); the
    // body is written to a temporary file, as wx does.
    downloadFile(options) {
      calls.downloads.push({ url: options.url, header: clone(options.header) })
      const task = { abort() {}, onProgressUpdate() {} }
      Promise.resolve()
        .then(() => {
          if (!downloadFile) throw { errMsg: 'downloadFile:fail no transport in this test' }
          return downloadFile(options)
        })
        .then(
          (res) => {
            fileCounter += 1
            const tempFilePath = `${TEMP_PREFIX}download-${fileCounter}`
            files.set(tempFilePath, res.body || Buffer.alloc(0))
            callback(options, true, { statusCode: res.statusCode, tempFilePath, errMsg: 'downloadFile:ok' })
          },
          (err) => callback(options, false, { errMsg: (err && err.errMsg) || 'downloadFile:fail ' + err })
        )
      return task
    },
    openDocument(options) {
      calls.documents.push({ filePath: options.filePath, fileType: options.fileType, showMenu: options.showMenu })
      const ok = files.has(options.filePath)
      setTimeout(() => callback(options, ok, { errMsg: ok ? 'openDocument:ok' : 'openDocument:fail file not found' }), 0)
    },

    saveFile(options) {
      setTimeout(() => {
        if (saveFileFails || !files.has(options.tempFilePath)) {
          callback(options, false, { errMsg: 'saveFile:fail the maximum size of the file storage limit is exceeded' })
          return
        }
        fileCounter += 1
        const savedFilePath = `${SAVED_PREFIX}${fileCounter}-${options.tempFilePath.split('/').pop()}`
        files.set(savedFilePath, files.get(options.tempFilePath))
        files.delete(options.tempFilePath)
        callback(options, true, { savedFilePath, errMsg: 'saveFile:ok' })
      }, 0)
    },
    removeSavedFile(options) {
      const ok = files.delete(options.filePath)
      setTimeout(() => callback(options, ok, { errMsg: ok ? 'removeSavedFile:ok' : 'removeSavedFile:fail' }), 0)
    },
    getFileSystemManager() {
      return {
        accessSync(path) {
          if (!files.has(path)) throw new Error(`accessSync:fail no such file or directory ${path}`)
        },
        readFileSync(path) {
          if (!files.has(path)) throw new Error(`readFileSync:fail no such file or directory ${path}`)
          return files.get(path)
        }
      }
    },

    getLocation(options) {
      calls.locations.push({ type: options.type, isHighAccuracy: options.isHighAccuracy })
      setTimeout(() => {
        if (location.errMsg) callback(options, false, { errMsg: location.errMsg })
        else callback(options, true, Object.assign({ errMsg: 'getLocation:ok', speed: 0, altitude: 0 }, location))
      }, 0)
    },
    chooseLocation(options) {
      setTimeout(() => {
        if (chosenLocation) callback(options, true, Object.assign({ errMsg: 'chooseLocation:ok' }, chosenLocation))
        else callback(options, false, { errMsg: 'chooseLocation:fail cancel' })
      }, 0)
    },
    chooseMedia(options) {
      calls.media.push({ sourceType: options.sourceType, mediaType: options.mediaType, count: options.count })
      setTimeout(() => {
        if (!cameraContent) {
          callback(options, false, { errMsg: 'chooseMedia:fail cancel' })
          return
        }
        fileCounter += 1
        const tempFilePath = `${TEMP_PREFIX}photo-${fileCounter}.jpg`
        files.set(tempFilePath, cameraContent)
        callback(options, true, {
          type: 'image',
          tempFiles: [{ tempFilePath, size: cameraContent.length, fileType: 'image' }],
          errMsg: 'chooseMedia:ok'
        })
      }, 0)
    },
    previewImage(options) {
      calls.previews.push({ current: options.current, urls: options.urls.slice() })
    },
    showActionSheet(options) {
      calls.actionSheets.push(options.itemList.slice())
      setTimeout(() => {
        if (actionSheetAnswer < 0) callback(options, false, { errMsg: 'showActionSheet:fail cancel' })
        else callback(options, true, { tapIndex: actionSheetAnswer, errMsg: 'showActionSheet:ok' })
      }, 0)
    },
    onNetworkStatusChange(listener) {
      networkListeners.push(listener)
    },
    offNetworkStatusChange(listener) {
      const index = networkListeners.indexOf(listener)
      if (index >= 0) networkListeners.splice(index, 1)
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
      calls.modals.push({ title: options.title, content: options.content, editable: Boolean(options.editable) })
      const answer = { confirm: modalAnswer, cancel: !modalAnswer }
      if (options.editable) answer.content = modalContent
      setTimeout(() => callback(options, true, answer), 0)
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
    files,
    __answerModals(confirm, content) {
      modalAnswer = confirm
      modalContent = content === undefined ? '' : content
    },
    // The index of the action sheet item the member taps; -1 cancels.
    __answerActionSheets(index) {
      actionSheetAnswer = index
    },
    // Where the phone is: {latitude, longitude, accuracy}, or {errMsg} for a refused or failed location.
    __setLocation(answer) {
      location = answer
    },
    __setChosenLocation(answer) {
      chosenLocation = answer
    },
    // What the camera takes next (a Buffer); null: the member cancels.
    __setCamera(content) {
      cameraContent = content
    },
    __failSaveFile(fails) {
      saveFileFails = fails
    },
    __putFile(path, content) {
      files.set(path, content)
    },
    __setNetwork(isConnected) {
      const status = { isConnected, networkType: isConnected ? 'wifi' : 'none' }
      networkListeners.slice().forEach((listener) => listener(status))
    },
    // Closing and reopening the app: temporary files are gone; storage and saved files stay.
    __restart() {
      Array.from(files.keys())
        .filter((path) => path.startsWith(TEMP_PREFIX))
        .forEach((path) => files.delete(path))
    },
    __lastNavigation() {
      return calls.navigations[calls.navigations.length - 1]
    },
    __lastToast() {
      return calls.toasts[calls.toasts.length - 1]
    }
  }
}

module.exports = { createWx, TEMP_PREFIX, SAVED_PREFIX }
