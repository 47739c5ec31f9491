/**
 * @jest-environment jsdom
 */
// pages/meeting rendered by miniprogram-simulate with a scripted server: what the member sees for the detail the
// server sends, and which buttons its `can` opens.
const config = require('../../config')
const session = require('../../utils/session')
const uploadQueue = require('../../utils/upload-queue')
const { createWx } = require('../support/fake-wx')
const { loadPage, renderPage, text, texts } = require('../support/simulate-page')

const BASE = 'https://api.test'
const PAGE_ID = loadPage('pages/meeting/meeting')

function detail(overrides) {
  return Object.assign(
    {
      id: 42,
      org_id: 12,
      org_name: '一村党支部',
      kind: { id: 2, code: 'branch_committee', name: '支部委员会会议', cadence: 'month' },
      title: '七月支部委员会会议',
      topic: '研究七月工作',
      starts_at: '2026-07-08T09:00:00+08:00',
      ends_at: '2026-07-08T10:30:00+08:00',
      period: '2026-07',
      status: 'held',
      status_label: '已召开',
      late_entry: true,
      flagged: true,
      venue: { name: null, latitude: 26.58, longitude: 106.71, coord_sys: 'gcj02', radius_m: 200 },
      lecturer_name: null,
      self_score: null,
      review_score: null,
      attendance: { expected: 3, present: 2, absent: 1, proxy: 1 },
      photo_count: 1,
      minutes: '传达上级精神。',
      host: { id: 7, name: '一村书记' },
      recorder: null,
      rating: { average: 4.5, count: 2 },
      attendees: [
        {
          member_id: 7,
          name: '一村书记',
          status: 'present',
          status_label: '出席',
          absence_reason: null,
          absence_reason_label: null,
          absence_note: null,
          signed_at: '2026-07-08T08:55:00+08:00',
          distance_m: 3250.4,
          flags: ['outside_venue'],
          proxy: false,
          rating: 5
        },
        {
          member_id: 9,
          name: '一村党员',
          status: 'present',
          status_label: '出席',
          absence_reason: null,
          absence_reason_label: null,
          absence_note: null,
          signed_at: null,
          distance_m: null,
          flags: [],
          proxy: true,
          rating: 4
        },
        {
          member_id: 13,
          name: '新党员',
          status: 'absent',
          status_label: '缺席',
          absence_reason: 'leave',
          absence_reason_label: '请假',
          absence_note: '外出务工',
          signed_at: null,
          distance_m: null,
          flags: [],
          proxy: false,
          rating: null
        }
      ],
      photos: [
        {
          id: 5,
          client_id: 'p-abc-123456',
          purpose: 'scene',
          taken_at: '2026-07-08T09:10:00+08:00',
          uploaded_by: { id: 7, name: '一村书记' },
          urls: { thumb: '/api/files/t5?sig=1', display: '/api/files/d5?sig=1', watermarked: '/api/files/w5?sig=1' },
          verdict: {
            flags: ['late_upload'],
            reasons: { late_upload: '拍摄后3.0小时才上传（离线拍摄）' },
            distance_m: 0,
            matches: []
          }
        },
        {
          id: 6,
          client_id: 'p-def-123456',
          purpose: 'minutes',
          taken_at: '2026-07-08T10:00:00+08:00',
          uploaded_by: { id: 7, name: '一村书记' },
          urls: { thumb: 'https://cdn.test/t6.jpg', display: 'https://cdn.test/d6.jpg', watermarked: null },
          verdict: { flags: [], reasons: {}, distance_m: null, matches: [] }
        }
      ],
      reviews: [
        {
          id: 1,
          reviewer: { id: 5, name: '甲一镇组织委员' },
          decision: 'return',
          decision_label: '退回',
          comment: '请补充会议记录',
          score: null,
          created_at: '2026-07-09T10:00:00+08:00'
        }
      ],
      my_attendance: null,
      can: {
        edit: true,
        record_held: false,
        submit: true,
        review: false,
        sign_in: true,
        rate: false,
        mark_attendance: true,
        upload: true
      }
    },
    overrides
  )
}

let served
let posts

function install(overrides) {
  served = detail(overrides)
  posts = []
  global.wx = createWx({
    request: (options) => {
      const url = options.url.replace(BASE, '')
      if (options.method === 'GET' && url === '/api/meetings/42') return { statusCode: 200, data: served }
      if (options.method === 'POST' && url === '/api/meetings/42/sign-in') {
        posts.push(options.data)
        return { statusCode: 200, data: { member_id: 9, status: 'present', result: 'outside' } }
      }
      throw new Error(`unexpected ${options.method} ${url}`)
    }
  })
  config.apiBase = BASE
  session.saveTokens({ access_token: 'a', refresh_token: 'r', member: { id: 7, name: '一村书记' } })
}

// Pages shown in a test; they listen to the upload queue until unloaded.
let opened = []

function render() {
  const page = renderPage(PAGE_ID)
  opened.push(page)
  return page
}

async function open(overrides) {
  install(overrides)
  const page = render()
  await page.instance.onLoad({ id: '42' })
  page.instance.onShow()
  await new Promise((resolve) => setTimeout(resolve, 0))
  return page
}

afterEach(() => {
  opened.forEach((page) => page.instance.onUnload())
  opened = []
})

test('the detail as the server sent it: status, badges, attendees, photos with their verdicts, reviews', async () => {
  const page = await open()
  expect(text(page.querySelector('.title'))).toBe('七月支部委员会会议')
  expect(text(page.querySelector('.status'))).toBe('已召开')
  expect(texts(page, '.badges .badge')).toEqual(['补录', '存疑'])
  expect(texts(page, '.row')).toEqual(
    expect.arrayContaining([
      '会议类型支部委员会会议',
      '时间2026-07-08 09:00 至 10:30',
      '地点组织活动场所',
      '主持人一村书记',
      '党员评价4.5 分（2 人评价）'
    ])
  )
  expect(wx.calls.titles).toEqual(['支部委员会会议'])

  // Attendees: status, proxy, reason, distance and the sign-in's flag.
  expect(texts(page, '.attendee-name')).toEqual(['一村书记', '一村党员', '新党员'])
  expect(texts(page, '.attendee .attendance')).toEqual(['出席', '出席', '缺席'])
  const rows = page.querySelectorAll('.attendee').map(text)
  expect(rows[0]).toContain('距会场 3250 米')
  expect(rows[0]).toContain('不在会场范围')
  expect(rows[1]).toContain('代签')
  expect(rows[2]).toContain('请假：外出务工')
  expect(texts(page, '.mark')).toEqual(['登记', '登记', '登记'])

  // Photos: thumbnails from the API origin, the purpose, and each verdict's flags with the server's reasons.
  const photos = page.instance.data.photos
  expect(photos.map((p) => p.thumb)).toEqual([BASE + '/api/files/t5?sig=1', 'https://cdn.test/t6.jpg'])
  expect(page.querySelectorAll('.thumb')).toHaveLength(2)
  const photoTexts = page.querySelectorAll('.photo').map(text)
  expect(photoTexts[0]).toContain('现场照片')
  expect(photoTexts[0]).toContain('离线拍摄延迟上传：拍摄后3.0小时才上传（离线拍摄）')
  expect(photoTexts[1]).toContain('会议记录')

  // Reviews.
  expect(texts(page, '.review-item .decision')).toEqual(['退回'])
  expect(texts(page, '.review-comment')).toEqual(['请补充会议记录'])
})

test('the buttons are the server\'s `can`', async () => {
  let page = await open()
  expect(texts(page, '.actions .action')).toEqual(['签到', '拍照上传', '拍会议记录'])
  expect(page.querySelector('.submit')).toBeDefined()
  expect(page.querySelector('.record-held')).toBeUndefined()
  expect(page.querySelector('.review')).toBeUndefined()
  expect(page.querySelector('.rate')).toBeUndefined()
  page = await open({
    can: { review: true, rate: true, sign_in: false, upload: false, submit: false, mark_attendance: false },
    my_attendance: { member_id: 7, status: 'present', rating: 3 }
  })
  expect(page.querySelector('.actions')).toBeUndefined()
  expect(page.querySelector('.submit')).toBeUndefined()
  expect(page.querySelectorAll('.mark')).toHaveLength(0)
  expect(texts(page, '.review-buttons .decide')).toEqual(['通过', '退回', '评论'])
  expect(page.querySelectorAll('.star-on')).toHaveLength(3)
  expect(text(page.querySelector('.signed'))).toBe('您已签到')
})

test('退回 without a reason shows the error under the comment and sends nothing', async () => {
  const page = await open({ can: { review: true } })
  page.querySelector('.decide-return').dispatchEvent('tap')
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(text(page.querySelector('.review .error-text'))).toBe('请填写退回原因')
  expect(wx.calls.requests.filter((r) => r.method === 'POST')).toEqual([])
})

test('签到 asks for a precise GCJ-02 position and shows the server\'s result', async () => {
  const page = await open()
  wx.__setLocation({ latitude: 26.6, longitude: 106.7, accuracy: 8 })
  await page.instance.onSignIn()
  expect(wx.calls.locations).toEqual([{ type: 'gcj02', isHighAccuracy: true }])
  expect(posts).toEqual([{ latitude: 26.6, longitude: 106.7, accuracy: 8, coord_sys: 'gcj02' }])
  expect(wx.__lastToast()).toBe('已签到，但不在会场范围内')
})

test('a tap on a thumbnail previews the display copies, from the API origin', async () => {
  const page = await open()
  page.querySelectorAll('.thumb')[1].dispatchEvent('tap')
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(wx.calls.previews).toEqual([
    { current: 'https://cdn.test/d6.jpg', urls: [BASE + '/api/files/d5?sig=1', 'https://cdn.test/d6.jpg'] }
  ])
})

test('photos of this meeting still on the phone are shown: how many wait, and the refused ones with the reason', async () => {
  install()
  wx.setStorageSync(uploadQueue.STORAGE_KEY, [
    { client_id: 'q-1', meeting_id: 42, member_id: 7, status: 'pending', file_path: 'wxfile://store/1.jpg' },
    { client_id: 'q-2', meeting_id: 42, member_id: 7, status: 'failed', last_error: '只接受 JPEG、PNG 或 HEIC 格式的照片' },
    { client_id: 'q-3', meeting_id: 43, member_id: 7, status: 'failed', last_error: '别的会议' }
  ])
  const page = render()
  await page.instance.onLoad({ id: '42' })
  await new Promise((resolve) => setTimeout(resolve, 0))
  expect(page.instance.data.queue.pending).toBe(1)
  const panel = page.dom.textContent
  expect(panel).toContain('待上传 1 张照片')
  expect(panel).toContain('只接受 JPEG、PNG 或 HEIC 格式的照片')
  expect(panel).not.toContain('别的会议')
})
