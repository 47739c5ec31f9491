// Runs before each test file: a fresh fake `wx` without network, and fast retries.
const config = require('../../config')
const { createWx } = require('./fake-wx')

global.wx = createWx()
config.retryDelayMs = 1
