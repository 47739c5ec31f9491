// The official-account link from the me page against the live server: a bind code from 绑定公众号, sent as
// "绑定 <code>" to the bot through the server's official-account sandbox (as a WeChat user would in the account's
// chat), the page shows the link when the member comes back, and 解除绑定 ends it.
// sec_v2's official-account link belongs to this file alone.
const { useLiveServer, httpRequest } = require('../support/live')
const { launchApp, openPage } = require('../support/harness')
const { loginWithAccount } = require('../support/flows')

const OPENID = 'o-e2e-oa-sec-v2-' + Date.now()

let live

beforeEach(() => {
  live = useLiveServer()
  launchApp()
})

async function sendToAccount(content) {
  const res = await httpRequest({
    url: live.info.base_url + '/_sandbox/wechat/official-account/_control/send',
    method: 'POST',
    data: { openid: OPENID, kind: 'text', content },
    header: { 'content-type': 'application/json' }
  })
  expect(res.statusCode).toBe(200)
  return res.data.reply
}

test('get a code on the me page, send it to the account, come back linked, then unbind', async () => {
  const account = live.info.accounts.sec_v2
  await loginWithAccount(account.username, live.info.password)
  const me = await openPage('/pages/me/me')
  expect(me.data.oaBound).toBe(false)

  await me.onGetOaCode()
  const { code, instruction } = me.data.oaCode
  expect(code).toMatch(/^\d{6}$/)
  expect(instruction).toBe(`在公众号内发送：绑定 ${code}（10分钟内有效）`)
  me.onHide() // the member switches to the account's chat

  expect(await sendToAccount(`绑定 ${code}`)).toContain('绑定成功')
  await me.onShow()
  expect(me.data.oaBound).toBe(true)
  expect(me.data.oaCode).toBe(null)

  wx.__answerModals(true)
  await me.onUnbindOa()
  expect(wx.calls.toasts).toContain('已解除公众号绑定')
  expect(me.data.oaBound).toBe(false)
  // The code was used once: sending it again is refused.
  expect(await sendToAccount(`绑定 ${code}`)).toContain('绑定码无效或已过期')
  me.onUnload()
})
