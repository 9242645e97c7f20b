'use strict'
// Preloaded (`node -r`) into the CLI runs that scripts/build.mjs makes to produce the V8 code
// cache of the dist/ bundles (read by bin/code-cache.js). It compiles the bundles the way the
// reader will (Module.wrap through vm.Script) and writes the cached data of the bundles named in
// AUTHCTL_TRAIN_SAVE into AUTHCTL_TRAIN_OUT at exit, after the run: the functions the command
// compiled lazily are in it too. A V8 flag set at run time (the undici shim turns on
// --liftoff-only on Node 20) changes what V8 accepts later, so the bundles loaded before such a
// change are written just before it. Build-only: not shipped.
const Module = require('node:module')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const { seal } = require('../bin/code-cache.js')

const dist = path.resolve(__dirname, '..', 'dist')
const out = process.env.AUTHCTL_TRAIN_OUT
const save = new Set((process.env.AUTHCTL_TRAIN_SAVE ?? '').split(',').filter(Boolean))
const compiled = []

function writeAll() {
  while (compiled.length) {
    const { bundle, script, source } = compiled.shift()
    if (!save.has(bundle)) continue
    fs.writeFileSync(path.join(out, `${bundle}.bin`), seal(source, script.createCachedData()))
    save.delete(bundle)
  }
}

const compile = Module.prototype._compile
Module.prototype._compile = function (content, filename, ...rest) {
  if (path.dirname(filename) !== dist || !filename.endsWith('.cjs')) return compile.call(this, content, filename, ...rest)
  const script = new vm.Script(Module.wrap(content), { filename })
  compiled.push({ bundle: path.basename(filename), script, source: content })
  const fn = script.runInThisContext({ displayErrors: true })
  const require = (id) => this.require(id)
  require.main = process.mainModule
  return fn.call(this.exports, this.exports, require, this, filename, path.dirname(filename))
}

const setFlags = v8.setFlagsFromString
v8.setFlagsFromString = (flags) => {
  writeAll()
  setFlags(flags)
}
process.on('exit', writeAll)
