// The upload queue of one meeting as the member sees it: how many photos still wait, and the ones the server
// refused for good, with its message and a way to retry or delete each. The queue itself is utils/upload-queue.
Component({
  properties: {
    pending: {
      type: Number,
      value: 0
    },
    sending: {
      type: Boolean,
      value: false
    },
    // Queue items with status 'failed' ({client_id, last_error, taken_at …}).
    failed: {
      type: Array,
      value: []
    }
  },

  methods: {
    onRetry(e) {
      this.triggerEvent('retry', { clientId: e.currentTarget.dataset.id })
    },
    onRemove(e) {
      this.triggerEvent('remove', { clientId: e.currentTarget.dataset.id })
    },
    onSendNow() {
      this.triggerEvent('flush', {})
    }
  }
})
