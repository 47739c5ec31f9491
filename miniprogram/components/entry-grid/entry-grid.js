// The grid of extra entries the server grants the member's role (党员名册, 下级组织 …). It shows what it is given.
Component({
  properties: {
    entries: {
      type: Array,
      value: []
    },
    title: {
      type: String,
      value: '管理功能'
    }
  },

  methods: {
    onTap(e) {
      const entry = this.data.entries[e.currentTarget.dataset.index]
      if (entry) this.triggerEvent('select', { key: entry.key, page: entry.page })
    }
  }
})
