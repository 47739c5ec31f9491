// A real photo for the upload tests: a 96×72 JPEG (2.3 KB, no EXIF) that the server's photo pipeline decodes.
// Made with Pillow; kept as base64 so the tests need no image library.
const JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxO' +
  'UlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09P' +
  'T09PT09PT0//wAARCABIAGADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF' +
  'BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW' +
  'V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi' +
  '4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC' +
  'AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm' +
  'Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq' +
  '8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDoPEf/ACA7n/gP/oQrM8G/8vn/AAD/ANmrT8R/8gO5/wCA/wDoQrM8G/8AL5/wD/2avm4f' +
  '7rL1/wAj24f7tL1/yMzxH/yHLn/gP/oIrpvEf/IDuf8AgP8A6EK5nxH/AMhy5/4D/wCgium8R/8AIDuf+A/+hCtKn/Ln5foaT/5d' +
  'f12Mzwb/AMvn/AP/AGaszxH/AMhy5/4D/wCgitPwb/y+f8A/9mrM8R/8hy5/4D/6CK0h/vUvT/I0h/vMvT/I6bxH/wAgO5/4D/6E' +
  'KzPBv/L5/wAA/wDZq0/Ef/IDuf8AgP8A6EKzPBv/AC+f8A/9mrnh/usvX/I54f7tL1/yMzxH/wAhy5/4D/6CK6bxH/yA7n/gP/oQ' +
  'rmfEf/Icuf8AgP8A6CK6bxH/AMgO5/4D/wChCtKn/Ln5foaT/wCXX9djM8G/8vn/AAD/ANmrM8R/8hy5/wCA/wDoIrT8G/8AL5/w' +
  'D/2aszxH/wAhy5/4D/6CK0h/vUvT/I0h/vMvT/I6bxH/AMgO5/4D/wChCszwb/y+f8A/9mrT8R/8gO5/4D/6EKzPBv8Ay+f8A/8A' +
  'Zq54f7rL1/yOeH+7S9f8jM8R/wDIcuf+A/8AoIrpvEf/ACA7n/gP/oQrmfEf/Icuf+A/+gium8R/8gK5/wCA/wDoQrSf/Ln5foaV' +
  'P+XX9djI8KzRW8N/NO4SNAhZj2+9WRrN5Fd6pPPBkxsQASMZwAM/pVIyMVKBiEJBK54JHQ/qfzplfRYbK4Rk6tXVvoeJis0n7aTo' +
  'Oy7nQ6h4kW/sJrZrUxlwNrB93IYH0HoateDTn7Zj/Y/9mrlKu6XqU+mXPmxfMh4eMnhx/j71OKyim6Mo0FZ+v+ZlQzKpGLp1NUy3' +
  '4j/5Dlz/AMB/9BFdN4j/AOQHc/8AAf8A0IVyms3Ed1qclxEcpIqMPb5Rwfeur8R/8gO5/wCA/wDoQrwKsXF0k9/+GPfk7qk15foZ' +
  'ng3/AJfP+Af+zVmeI/8AkOXP/Af/AEEVp+Df+Xz/AIB/7NWZ4j/5Dlz/AMB/9BFXD/epen+RrD/eZen+R03iP/kB3P8AwH/0IVme' +
  'Df8Al8/4B/7NWn4j/wCQHc/8B/8AQhWZ4N/5fP8AgH/s1c8P91l6/wCRzw/3aXr/AJGZ4j/5Dlz/AMB/9BFdL4l/5ANz/wAB/wDQ' +
  'hXNeI/8AkOXP/Af/AEEV0viQZ0G5/wCA/wDoQroi0qlBva6/QnFxlKjFR3t+iOCooor7Y+RCiiigCROld14j/wCQHc/8B/8AQhXD' +
  'tE8RCuMEqG69iAR+hFdx4j/5Adz/AMB/9CFfH5i08TFrv+qPraKapUFL+tjM8G/8vn/AP/ZqzPEf/Icuf+A/+gitPwb/AMvn/AP/' +
  'AGaszxH/AMhy5/4D/wCgisYf71L0/wAjrh/vMvT/ACOm8R/8gO5/4D/6EKzPBv8Ay+f8A/8AZq0/Ef8AyA7n/gP/AKEKzPBv/L5/' +
  'wD/2aueH+6y9f8jnh/u0vX/IzPEf/Icuf+A/+gium8R/8gO5/wCA/wDoQrmfEf8AyHLn/gP/AKCK6bxH/wAgO5/4D/6EK0qf8ufl' +
  '+hpP/l1/XY5C10ya+triW2G54NpMYHLA56e/HSqTqyOUdSrKcEEYINdT4N/5fP8AgH/s1ZniMZ1y4/4D/wCgivYwuZzhUdGault+' +
  'B52JyyNfES5Hb+kY9bvhjTIb25kluRuSDaRGRwxOevtx0rb120tbfRbl4LaGJiFBKIFON6+lUvBv/L5/wD/2aoxObyrYeTpLl6ef' +
  'Qxw+WRjB1Zu9uhmeI/8AkOXP/Af/AEEV03iP/kB3P/Af/QhXM+I/+Q5c/wDAf/QRXTeI/wDkB3P/AAH/ANCFeVU/5c/L9D15/wDL' +
  'r+uxmeDf+Xz/AIB/7NWZ4j/5Dlz/AMB/9BFafg3/AJfP+Af+zVmeI/8AkOXP/Af/AEEVpD/epen+RpD/AHmXp/kdN4j/AOQHc/8A' +
  'Af8A0IVmeDf+Xz/gH/s1FFc8P91l6/5HPD/dpev+RmeI/wDkOXP/AAH/ANBFdN4j/wCQHc/8B/8AQhRRWlT/AJc/L9DSf/Lr+uxm' +
  'eDf+Xz/gH/s1ZniP/kOXP/Af/QRRRWkP96l6f5GkP95l6f5HTeI/+QHc/wDAf/QhWZ4N/wCXz/gH/s1FFc8P91l6/wCRzw/3aXr/' +
  'AJGZ4j/5Dlz/AMB/9BFdN4j/AOQHc/8AAf8A0IUUVpU/5c/L9DSf/Lr+uxmeDf8Al8/4B/7NWZ4j/wCQ5c/8B/8AQRRRWkP96l6f' +
  '5GkP95l6f5H/2Q=='

const TINY_JPEG = Buffer.from(JPEG_BASE64, 'base64')

// Not a photo at all: the server refuses it for good (unsupported_type).
const NOT_A_PHOTO = Buffer.from('这不是照片，只是一段文字。')

module.exports = { TINY_JPEG, NOT_A_PHOTO }
