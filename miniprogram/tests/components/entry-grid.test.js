/**
 * @jest-environment jsdom
 */
// components/entry-grid rendered by miniprogram-simulate (WeChat's own WXML compiler).
const path = require('path')
const simulate = require('miniprogram-simulate')

// Loaded once per file: miniprogram-simulate cannot load a component again after rendering it.
const COMPONENT_ID = simulate.load(path.resolve(__dirname, '../../components/entry-grid/entry-grid'))

const ENTRIES = [
  { key: 'branch_members', title: '党员名册', page: '/pages/members/members?org_id=12' },
  { key: 'branch_info', title: '支部信息', page: '/pages/org/org?id=12' }
]

function render(props) {
  const comp = simulate.render(COMPONENT_ID, props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

test('renders one tile per entry the server sent, in its order', () => {
  const comp = render({ entries: ENTRIES })
  const titles = comp.querySelectorAll('.entry-title').map((node) => node.dom.textContent)
  expect(titles).toEqual(['党员名册', '支部信息'])
  expect(comp.querySelector('.entry-grid-title').dom.textContent).toBe('管理功能')
  expect(comp.querySelectorAll('.entry .entry-icon').map((node) => node.dom.textContent)).toEqual(['党', '支'])
})

test('renders nothing for a role without entries', () => {
  const comp = render({ entries: [] })
  expect(comp.querySelector('.entry-grid')).toBeUndefined()
  expect(comp.dom.textContent).toBe('')
})

test('follows new entries set later', async () => {
  const comp = render({ entries: [] })
  comp.setData({ entries: ENTRIES.slice(1) })
  await simulate.sleep(0)
  expect(comp.querySelectorAll('.entry-title').map((node) => node.dom.textContent)).toEqual(['支部信息'])
})

test('a tap emits select with the entry\'s key and page', async () => {
  const comp = render({ entries: ENTRIES })
  const selected = []
  comp.addEventListener('select', (e) => selected.push(e.detail))
  comp.querySelectorAll('.entry')[1].dispatchEvent('tap')
  await simulate.sleep(0)
  expect(selected).toEqual([{ key: 'branch_info', page: '/pages/org/org?id=12' }])
})
