// 党建云 mini-program. Pages ask the server what to show; the app itself keeps only the session (utils/session).
const session = require('./utils/session')

App({
  globalData: {
    member: null
  },

  onLaunch() {
    this.globalData.member = session.getMember()
  },

  // Called by pages after login or a profile reload so every page sees the same member.
  setMember(member) {
    this.globalData.member = member
    if (member) session.saveMember(member)
  }
})
