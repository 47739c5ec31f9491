// The phone's position for sign-ins and photos: GCJ-02 as WeChat gives it on Chinese maps, asked with high
// accuracy (GPS) because the server compares it with the venue fence. Rejects with a Chinese message.
const HIGH_ACCURACY_WAIT_MS = 5000

function getPosition() {
  return new Promise((resolve, reject) => {
    wx.getLocation({
      type: 'gcj02',
      isHighAccuracy: true,
      highAccuracyExpireTime: HIGH_ACCURACY_WAIT_MS,
      success: (res) =>
        resolve({ latitude: res.latitude, longitude: res.longitude, accuracy: res.accuracy, coord_sys: 'gcj02' }),
      fail: (res) => {
        const denied = /auth|deny|denied/i.test((res && res.errMsg) || '')
        const err = new Error(denied ? '请在设置中允许使用位置信息后重试' : '无法获取位置，请到开阔处重试')
        err.denied = denied
        reject(err)
      }
    })
  })
}

module.exports = { getPosition }
