// Page-by-page loading of a list endpoint answering {items, meta: {total, page, per_page}}.
const request = require('./request')

const PER_PAGE = 20

/**
 * Loads the next page into `page.data[key]`, or the first page again when `reset` (a new search).
 * `page.data[key + 'Meta']` keeps {total, page, loading, done}. A next-page call while one is loading is
 * ignored (onReachBottom fires often); a reset wins over any answer still on its way.
 */
async function loadNext(page, key, url, params, reset) {
  const metaKey = key + 'Meta'
  const meta = page.data[metaKey] || {}
  if (!reset && (meta.loading || meta.done)) return
  const seqs = page.pagerSeq || (page.pagerSeq = {})
  const seq = (seqs[key] || 0) + 1
  seqs[key] = seq
  const nextPage = reset ? 1 : (meta.page || 0) + 1
  page.setData({ [metaKey]: Object.assign({}, meta, { loading: true }) })
  try {
    const res = await request.get(url, Object.assign({}, params, { page: nextPage, per_page: PER_PAGE }))
    if (seqs[key] !== seq) return
    const items = reset ? res.items : page.data[key].concat(res.items)
    page.setData({
      [key]: items,
      [metaKey]: {
        total: res.meta.total,
        page: nextPage,
        loading: false,
        done: items.length >= res.meta.total || res.items.length === 0
      }
    })
  } catch (err) {
    if (seqs[key] === seq) page.setData({ [metaKey]: Object.assign({}, meta, { loading: false }) })
  }
}

module.exports = { loadNext, PER_PAGE }
