// Pages rendered by miniprogram-simulate, which knows only components: a page's Page() object becomes a component
// whose data is the page's data and whose methods are the page's functions (onLoad, handlers …). The page's WXML
// is compiled by WeChat's own compiler, as for the components; absolute usingComponents resolve from the root.
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '../..')

/** Loads a page once per test file (miniprogram-simulate cannot load it again after rendering): its id. */
function loadPage(route) {
  const previous = global.Page
  global.Page = (definition) => {
    const methods = {}
    Object.keys(definition).forEach((key) => {
      if (typeof definition[key] === 'function') methods[key] = definition[key]
    })
    global.Component({ data: definition.data, methods })
  }
  try {
    return simulate.load(path.join(ROOT, route), { rootPath: ROOT })
  } finally {
    global.Page = previous
  }
}

/** Renders a loaded page, attached to a document so that its WXSS classes and events work. */
function renderPage(id) {
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  return page
}

const text = (node) => (node ? node.dom.textContent.trim() : null)
const texts = (page, selector) => page.querySelectorAll(selector).map(text)

// Inside a node found by querySelector (a plain element): the page's classes carry the simulator's prefix.
function textsIn(node, className) {
  return Array.from(node.dom.querySelectorAll(`.main--${className}`)).map((el) => el.textContent.trim())
}

module.exports = { loadPage, renderPage, text, texts, textsIn }
