// 党建云 mini-program. Pages ask the server what to show; the app itself keeps only the session (utils/session),
// the photos still to upload (utils/upload-queue), which it sends whenever it comes back or finds a network, and the
// duty check-ins not yet judged by the server (utils/duty-queue), which it sends whenever it comes back.
const session = require('./utils/session')
const uploadQueue = require('./utils/upload-queue')
const dutyQueue = require('./utils/duty-queue')

App({
  globalData: {
    member: null
  },

  onLaunch() {
    this.globalData.member = session.getMember()
    uploadQueue.watchNetwork()
  },

  onShow() {
    if (!session.isLoggedIn()) return
    uploadQueue.flush()
    dutyQueue.flush() // never rejects; a check-in that finds no network waits for the next time
  },

  // Called by pages after login or a profile reload so every page sees the same member.
  setMember(member) {
    this.globalData.member = member
    if (member) session.saveMember(member)
  }
})
