// What is due for the member, as the server listed it; the server also decides each item's urgency (level).
const { formatDateTime } = require('../../utils/format')

const LEVELS = ['info', 'warning', 'danger']

Component({
  properties: {
    items: {
      type: Array,
      value: []
    },
    emptyText: {
      type: String,
      value: '暂无待办事项'
    }
  },

  data: {
    rows: []
  },

  observers: {
    items(items) {
      const rows = (items || []).map((item) => ({
        key: item.key,
        title: item.title,
        detail: item.detail || '',
        dueText: item.due_at ? '截止 ' + formatDateTime(item.due_at) : '',
        level: LEVELS.includes(item.level) ? item.level : 'info',
        page: item.page || ''
      }))
      this.setData({ rows })
    }
  },

  methods: {
    onTap(e) {
      const row = this.data.rows[e.currentTarget.dataset.index]
      if (row) this.triggerEvent('select', { key: row.key, page: row.page })
    }
  }
})
