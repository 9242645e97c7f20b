#!/usr/bin/env node
'use strict'
// Cached `token`/`exec` and `--version` are served by a small fast path; everything else (and
// every error) by the full CLI, which alone reports errors. See src/cli/fast.ts.
const argv = process.argv.slice(2)
require('../dist/fast.cjs')
  .runFast(argv)
  .then((code) => (code === undefined ? require('../dist/authctl.cjs').main(argv) : void (process.exitCode = code)))
