// Unit and component tests need nothing outside this folder; tests/e2e drive the pages against the real backend,
// which tests/support/global-setup.js starts once per run (../tests/live_server.py) and global-teardown stops.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.js'],
  setupFiles: ['<rootDir>/tests/support/setup.js'],
  globalSetup: '<rootDir>/tests/support/global-setup.js',
  globalTeardown: '<rootDir>/tests/support/global-teardown.js',
  testTimeout: 20000,
  // Test files share one server: keep the number of simultaneous clients modest.
  maxWorkers: 4
}
