// Page paths the shared code needs, and opening a page the server pointed to.
const LOGIN_PAGE = '/pages/login/login'
const PASSWORD_PAGE = '/pages/password/password'
const HOME_PAGE = '/pages/home/home'
// Must match tabBar.list in app.json: tab pages can only be opened with switchTab.
const TAB_PAGES = [HOME_PAGE, '/pages/me/me']

function isTabPage(url) {
  return TAB_PAGES.includes(url.split('?')[0])
}

// Opens a page path that came from the server (an entry or a due item). Pages of later releases may not exist
// in this build yet; say so instead of failing silently.
function openPage(url) {
  if (!url) return
  const options = {
    url,
    fail: () => wx.showToast({ title: '该功能即将上线', icon: 'none' })
  }
  if (isTabPage(url)) wx.switchTab(options)
  else wx.navigateTo(options)
}

module.exports = { LOGIN_PAGE, PASSWORD_PAGE, HOME_PAGE, TAB_PAGES, isTabPage, openPage }
