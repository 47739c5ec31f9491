// The small dialogs every page uses: a confirmation (resolves true when confirmed) and a toast.
function confirm(title, content) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmColor: '#c8161d',
      success: (res) => resolve(Boolean(res.confirm)),
      fail: () => resolve(false)
    })
  })
}

function toast(title, icon, duration) {
  wx.showToast({ title, icon: icon || 'none', duration: duration || 2000 })
}

module.exports = { confirm, toast }
