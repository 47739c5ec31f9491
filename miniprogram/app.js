// 党建云 mini-program. Pages ask the server what to show; the app itself keeps only the session (utils/session)
// and the photos still to upload (utils/upload-queue), which it sends whenever it comes back or finds a network.
const session = require('./utils/session')
const uploadQueue = require('./utils/upload-queue')

App({
  globalData: {
    member: null
  },

  onLaunch() {
    this.globalData.member = session.getMember()
    uploadQueue.watchNetwork()
  },

  onShow() {
    if (session.isLoggedIn()) uploadQueue.flush()
  },

  // Called by pages after login or a profile reload so every page sees the same member.
  setMember(member) {
    this.globalData.member = member
    if (member) session.saveMember(member)
  }
})
