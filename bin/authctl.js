#!/usr/bin/env node
'use strict'
// `--version` is answered here, `token`/`exec` by the light path (src/cli/fast.ts: no
// commander), everything else by the full CLI.
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
  // `token` and `exec` start on the light path (no commander); anything else goes to the full CLI at once.
  if (!argv.includes('token') && !argv.includes('exec')) return load('../dist/authctl.cjs').main(argv)
  load('../dist/fast.cjs')
    .runFast(argv)
    .then((r) => {
      // A number: the light path ran the command. undefined: argv outside its grammar, nothing
      // done yet; the full CLI parses it.
      if (typeof r !== 'number') return load('../dist/authctl.cjs').main(argv)
      process.exitCode = r
    })
}
