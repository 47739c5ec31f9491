/**
 * @jest-environment jsdom
 */
// components/flag-badges rendered by miniprogram-simulate (WeChat's own WXML compiler).
const path = require('path')
const simulate = require('miniprogram-simulate')
const { flagBadges } = require('../../utils/meeting-labels')

const COMPONENT_ID = simulate.load(path.resolve(__dirname, '../../components/flag-badges/flag-badges'))

function render(props) {
  const comp = simulate.render(COMPONENT_ID, props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

const texts = (comp, selector) => comp.querySelectorAll(selector).map((node) => node.dom.textContent)

const VERDICT = {
  flags: ['outside_venue', 'late_upload', 'mystery_flag'],
  reasons: { outside_venue: '拍摄位置距会场约3.2公里', late_upload: '拍摄后3.0小时才上传（离线拍摄）' },
  flag_labels: { late_upload: '离线拍摄延迟上传' }
}

test('one badge per flag, in Chinese, each reason under it; a flag this build does not know keeps its code', () => {
  const comp = render({ badges: flagBadges(VERDICT.flags, VERDICT.reasons, VERDICT.flag_labels) })
  expect(texts(comp, '.flag-badge')).toEqual(['不在会场范围', '离线拍摄延迟上传', 'mystery_flag'])
  expect(texts(comp, '.flag-reason')).toEqual([
    '不在会场范围：拍摄位置距会场约3.2公里',
    '离线拍摄延迟上传：拍摄后3.0小时才上传（离线拍摄）'
  ])
  expect(comp.querySelectorAll('.flag-badge')[0].dom.className).toContain('flag-outside_venue')
})

test('the server\'s label wins over this build\'s', () => {
  const comp = render({ badges: flagBadges(['no_exif'], {}, { no_exif: '照片缺少EXIF信息' }) })
  expect(texts(comp, '.flag-badge')).toEqual(['照片缺少EXIF信息'])
})

test('reasons can be left out (a compact list of attendees)', () => {
  const comp = render({ badges: flagBadges(['outside_venue'], VERDICT.reasons), showReasons: false })
  expect(texts(comp, '.flag-badge')).toEqual(['不在会场范围'])
  expect(comp.querySelectorAll('.flag-reason')).toHaveLength(0)
})

test('no flags, nothing shown', () => {
  const comp = render({ badges: flagBadges([], {}) })
  expect(comp.querySelector('.flag-badges')).toBeUndefined()
  expect(comp.dom.textContent).toBe('')
})
