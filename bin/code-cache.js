'use strict'
// V8's compiled code for the dist/ bundles, made by `npm run build` (scripts/code-cache-train.cjs)
// and shipped beside them: a start that finds a cache for its own V8 skips parsing and compiling
// most of the bundle it loads. Read only, never written at run time, and only from
// dist/v8-cache/<V8 version>-<arch>/, inside the package: whoever can change a cache file there
// can change the bundle next to it, so it adds no way in. Each file carries the SHA-256 of the
// bundle it was made from and of its own payload (V8 checks neither: a damaged or stale cache
// could crash or run old code); any mismatch, a missing file or a cache V8 refuses (another V8,
// other flags) means the usual load, never an error.
const Module = require('node:module')
const { createHash } = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')

/** SHA-256 of the bundle, SHA-256 of the payload, then V8's cached data. */
const HEADER = 64

/** This Node's cache directory for the bundles of `distDir`. */
function cacheDirFor(distDir) {
  return path.join(distDir, 'v8-cache', `${process.versions.v8}-${process.arch}`)
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest()

/** A cache file's bytes for `data`, made from the bundle text `source`. */
function seal(source, data) {
  return Buffer.concat([sha256(source), sha256(data), data])
}

/** The cached data in `file` when it was made from `source` and is intact; else why not. */
function unseal(file, source) {
  let buf
  try {
    buf = fs.readFileSync(file)
  } catch {
    return { state: 'none' }
  }
  if (buf.length <= HEADER) return { state: 'damaged' }
  const data = buf.subarray(HEADER)
  if (!buf.subarray(HEADER / 2, HEADER).equals(sha256(data))) return { state: 'damaged' }
  if (!buf.subarray(0, HEADER / 2).equals(sha256(source))) return { state: 'stale' }
  return { state: 'used', data }
}

/** `require` for a module compiled here, as Node gives one to the modules it compiles. */
function requireFor(mod, main) {
  const require = (id) => mod.require(id)
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options)
  require.cache = Module._cache
  require.main = main
  return require
}

/** What happened to each bundle loaded since useCodeCache (for tests and `--verbose`-free checks). */
const loads = []

/**
 * From now on, a .cjs bundle directly in `distDir` with an intact cache for this V8 is compiled
 * from it (other modules load as before). `main` is the entry module (require.main of the bundles).
 */
function useCodeCache(distDir, main) {
  const dir = cacheDirFor(distDir)
  if (!fs.existsSync(dir)) return
  const compile = Module.prototype._compile
  Module.prototype._compile = function (content, filename, ...rest) {
    if (path.dirname(filename) !== distDir || !filename.endsWith('.cjs')) return compile.call(this, content, filename, ...rest)
    const cached = unseal(path.join(dir, `${path.basename(filename)}.bin`), content)
    if (!cached.data) {
      loads.push({ bundle: path.basename(filename), state: cached.state })
      return compile.call(this, content, filename, ...rest)
    }
    // The bundles have no import() (the build checks): Node 20 loses its callback in cached code.
    const script = new vm.Script(Module.wrap(content), { filename, cachedData: cached.data })
    loads.push({ bundle: path.basename(filename), state: script.cachedDataRejected ? 'rejected' : 'used' })
    const fn = script.runInThisContext({ displayErrors: true })
    return fn.call(this.exports, this.exports, requireFor(this, main), this, filename, path.dirname(filename))
  }
}

module.exports = { useCodeCache, cacheDirFor, seal, loads }
