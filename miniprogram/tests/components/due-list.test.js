/**
 * @jest-environment jsdom
 */
// components/due-list rendered by miniprogram-simulate (WeChat's own WXML compiler).
const path = require('path')
const simulate = require('miniprogram-simulate')

// Loaded once per file: miniprogram-simulate cannot load a component again after rendering it.
const COMPONENT_ID = simulate.load(path.resolve(__dirname, '../../components/due-list/due-list'))

const ITEMS = [
  {
    key: 'branch_committee',
    title: '支部委员会会议',
    detail: '本月尚未召开',
    due_at: '2026-03-31T23:59:00+08:00',
    level: 'danger',
    page: '/pages/meetings/new?kind=branch_committee'
  },
  { key: 'password_age', title: '建议定期修改密码', detail: '', due_at: null, level: 'info', page: null },
  { key: 'odd', title: '未知级别', due_at: '2026-04-01T00:00:00', level: 'critical', page: null }
]

function render(props) {
  const comp = simulate.render(COMPONENT_ID, props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

const text = (node) => (node ? node.dom.textContent : null)
const texts = (comp, selector) => comp.querySelectorAll(selector).map(text)

test('shows each item with its title, detail and deadline, styled by the server\'s level', () => {
  const comp = render({ items: ITEMS })
  const rows = comp.querySelectorAll('.due-item')
  expect(rows).toHaveLength(3)
  expect(texts(comp, '.due-item .due-title')).toEqual(['支部委员会会议', '建议定期修改密码', '未知级别'])
  // Items without detail or deadline leave those lines out.
  expect(texts(comp, '.due-item .due-detail')).toEqual(['本月尚未召开'])
  // A midnight deadline shows the date only.
  expect(texts(comp, '.due-item .due-at')).toEqual(['截止 2026-03-31 23:59', '截止 2026-04-01'])
  expect(rows[0].dom.className).toContain('due-danger')
  expect(rows[1].dom.className).toContain('due-info')
  // A level this build does not know falls back to the plain style.
  expect(rows[2].dom.className).toContain('due-info')
  expect(comp.querySelector('.due-empty')).toBeUndefined()
})

test('says there is nothing due when the list is empty', () => {
  const comp = render({ items: [] })
  expect(text(comp.querySelector('.due-empty'))).toBe('暂无待办事项')
  expect(comp.querySelectorAll('.due-item')).toHaveLength(0)
})

test('the empty text can be changed', () => {
  const comp = render({ items: [], emptyText: '本月事项已全部完成' })
  expect(text(comp.querySelector('.due-empty'))).toBe('本月事项已全部完成')
})

test('a tap emits select with the item\'s key and page (empty when the item has none)', async () => {
  const comp = render({ items: ITEMS })
  const selected = []
  comp.addEventListener('select', (e) => selected.push(e.detail))
  const rows = comp.querySelectorAll('.due-item')
  rows[0].dispatchEvent('tap')
  rows[1].dispatchEvent('tap')
  await simulate.sleep(0)
  expect(selected).toEqual([
    { key: 'branch_committee', page: '/pages/meetings/new?kind=branch_committee' },
    { key: 'password_age', page: '' }
  ])
})

test('data follows the items property', async () => {
  const comp = render({ items: ITEMS.slice(0, 1) })
  expect(comp.data.rows.map((row) => row.key)).toEqual(['branch_committee'])
  comp.setData({ items: ITEMS.slice(1, 2) })
  await simulate.sleep(0)
  expect(comp.data.rows).toEqual([
    { key: 'password_age', title: '建议定期修改密码', detail: '', dueText: '', level: 'info', page: '' }
  ])
})
