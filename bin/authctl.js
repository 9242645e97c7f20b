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

function start() {
  let fast
  try {
    fast = require('../dist/fast.cjs')
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes('fast.cjs')) throw err
    // A checkout or a git install that was never built: one line, not a stack trace.
    process.stderr.write(
      'authctl: this copy has no build (dist/ is missing)\n' +
        'hint: in a checkout run `npm ci && npm run build`; to install, use a packed tarball (`npm pack`, then `npm i -g ./authctl-X.Y.Z.tgz`)\n',
    )
    process.exit(1)
  }
  fast.runFast(argv).then((r) => {
    // A number: the fast path answered. Otherwise the full CLI takes over, with what was asked already.
    if (typeof r !== 'number') return require('../dist/authctl.cjs').main(argv, r)
    process.exitCode = r
  })
}
