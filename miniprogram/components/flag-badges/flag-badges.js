// A photo's (or a sign-in's) verdict flags as badges, each with the server's reason under it when asked. The
// server decides what is flagged and why; this only shows it.
Component({
  properties: {
    // [{flag, label, reason}] (utils/meeting-labels flagBadges)
    badges: {
      type: Array,
      value: []
    },
    showReasons: {
      type: Boolean,
      value: true
    }
  }
})
