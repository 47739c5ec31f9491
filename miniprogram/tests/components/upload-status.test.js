/**
 * @jest-environment jsdom
 */
// components/upload-status rendered by miniprogram-simulate (WeChat's own WXML compiler).
const path = require('path')
const simulate = require('miniprogram-simulate')

const COMPONENT_ID = simulate.load(path.resolve(__dirname, '../../components/upload-status/upload-status'))

function render(props) {
  const comp = simulate.render(COMPONENT_ID, props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

const text = (node) => (node ? node.dom.textContent.trim() : null)

const FAILED = [
  { client_id: 'p-1', status: 'failed', last_error: '只接受 JPEG、PNG 或 HEIC 格式的照片' },
  { client_id: 'p-2', status: 'failed', last_error: '照片太大，服务器拒绝接收' }
]

test('says how many photos wait, and offers to send them now', async () => {
  const comp = render({ pending: 3 })
  expect(text(comp.querySelector('.upload-pending-text'))).toBe('待上传 3 张照片')
  expect(text(comp.querySelector('.upload-hint'))).toContain('拍摄时间按实际拍摄时记录')
  const flushed = []
  comp.addEventListener('flush', () => flushed.push(true))
  comp.querySelector('.upload-now').dispatchEvent('tap')
  await simulate.sleep(0)
  expect(flushed).toEqual([true])
})

test('while one is on its way it says so and does not offer to send again', () => {
  const comp = render({ pending: 1, sending: true })
  expect(text(comp.querySelector('.upload-pending-text'))).toBe('正在上传 1 张照片')
  expect(comp.querySelector('.upload-now')).toBeUndefined()
})

test('each refused photo is shown with the server\'s message; retry and delete name the photo', async () => {
  const comp = render({ failed: FAILED })
  expect(comp.querySelector('.upload-pending')).toBeUndefined()
  expect(comp.querySelectorAll('.upload-failed-error').map(text)).toEqual(FAILED.map((item) => item.last_error))
  const events = []
  comp.addEventListener('retry', (e) => events.push(['retry', e.detail.clientId]))
  comp.addEventListener('remove', (e) => events.push(['remove', e.detail.clientId]))
  comp.querySelectorAll('.upload-retry')[1].dispatchEvent('tap')
  comp.querySelectorAll('.upload-remove')[0].dispatchEvent('tap')
  await simulate.sleep(0)
  expect(events).toEqual([
    ['retry', 'p-2'],
    ['remove', 'p-1']
  ])
})

test('an empty queue shows nothing', () => {
  const comp = render({ pending: 0, failed: [] })
  expect(comp.dom.textContent).toBe('')
})
