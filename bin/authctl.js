#!/usr/bin/env node
'use strict'
// `--version` and cached `token`/`exec` are served without the full CLI; everything else (and
// every error) by the full CLI, which alone reports errors. See src/cli/fast.ts.
const argv = process.argv.slice(2)
// `--version` needs no bundle at all: the version is package.json's (the build injects the same).
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.on('error', () => {}) // a closed pipe is not an error here
  process.stdout.write(`${require('../package.json').version}\n`)
} else {
  start()
}

/** A bundle of dist/; a copy that was never built gets one line, not a stack trace. */
function load(file) {
  try {
    return require(file)
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(file.replace('../', ''))) throw err
    process.stderr.write(
      'authctl: this copy has no build (dist/ is missing)\n' +
        'hint: in a checkout run `npm ci && npm run build`; to install, use a packed tarball (`npm pack`, then `npm i -g ./authctl-X.Y.Z.tgz`)\n',
    )
    process.exit(1)
  }
}

function start() {
  // Only `token` and `exec` can be served from the local cache, and never with --force-refresh
  // or a shared cache (Redis decides there); anything else goes to the full CLI at once, without
  // loading the fast path just to hear it decline.
  const cacheable = (argv.includes('token') || argv.includes('exec')) && !argv.includes('--force-refresh') && !process.env.AUTHCTL_CACHE
  if (!cacheable) return load('../dist/authctl.cjs').main(argv, {})
  load('../dist/fast.cjs')
    .runFast(argv)
    .then((r) => {
      // A number: the fast path answered. Otherwise the full CLI takes over, with what was asked already.
      if (typeof r !== 'number') return load('../dist/authctl.cjs').main(argv, r)
      process.exitCode = r
    })
}
