// Steps the e2e tests share, done the way a member does them: through the pages' own handlers.
const { openPage, event } = require('./harness')

async function fillAndSubmitLogin(page, username, password) {
  page.onInput(event({ dataset: { field: 'username' }, value: username }))
  page.onInput(event({ dataset: { field: 'password' }, value: password }))
  await page.onAccountLogin()
  return page
}

/** Opens the login page and logs in with the account; returns the login page. */
async function loginWithAccount(username, password) {
  const page = await openPage('/pages/login/login')
  return fillAndSubmitLogin(page, username, password)
}

/** Opens the page the last navigation went to (reLaunch, navigateTo …), as the framework would. */
function followNavigation() {
  const last = wx.__lastNavigation()
  if (!last) throw new Error('no navigation happened')
  return openPage(last.url)
}

module.exports = { fillAndSubmitLogin, loginWithAccount, followNavigation }
