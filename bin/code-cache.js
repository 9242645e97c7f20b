'use strict'
// V8's compiled code of the dist/ bundles, kept between runs so that a run skips parsing them
// (the full CLI's 390 KB bundle alone took ~10 ms to compile at every start). The cache lives in
// $XDG_CACHE_HOME/authctl/code-<node version>-<arch> (default ~/.cache/authctl/…): one file per
// bundle and content (sha256), written atomically at exit when it was missing or V8 refused it
// (another V8, other flags). Only a directory that is ours and that nobody else can write is
// read; code from it runs as authctl. Deleting it is always safe. Anything unexpected means a
// normal load, never an error.
const Module = require('node:module')
const { createHash } = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const vm = require('node:vm')

/** The cache directory, or undefined when it cannot be trusted or used. */
function cacheDir(env) {
  let base
  try {
    base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  } catch {
    return undefined
  }
  if (!path.isAbsolute(base)) return undefined
  const dir = path.join(base, 'authctl', `code-${process.version}-${process.arch}`)
  const st = fs.statSync(dir, { throwIfNoEntry: false })
  if (st && (!st.isDirectory() || !ours(st))) return undefined
  return dir
}

/** Owned by this user and not writable by group or others (no check where there are no uids). */
function ours(st) {
  const uid = process.getuid?.()
  return uid === undefined || (st.uid === uid && (st.mode & 0o022) === 0)
}

/** `require` for a module compiled here, as Node gives one to the modules it compiles. */
function requireFor(mod, main) {
  const require = (id) => mod.require(id)
  require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options)
  require.cache = Module._cache
  require.main = main
  return require
}

/**
 * Compiles the .cjs files of `distDir` through the cache from now on (other modules as before).
 * `main` is the entry module (require.main of the bundles).
 */
function useCodeCache(distDir, main, env = process.env) {
  const dir = cacheDir(env)
  if (!dir) return
  const prefix = path.resolve(distDir) + path.sep
  const compile = Module.prototype._compile
  const pending = []
  Module.prototype._compile = function (content, filename, ...rest) {
    if (!filename.startsWith(prefix) || !filename.endsWith('.cjs')) return compile.call(this, content, filename, ...rest)
    const file = path.join(dir, `${path.basename(filename, '.cjs')}-${createHash('sha256').update(content).digest('hex').slice(0, 32)}.bin`)
    let cachedData
    try {
      const st = fs.statSync(file)
      if (ours(st)) cachedData = fs.readFileSync(file)
    } catch {
      /* not cached yet */
    }
    // No import() in the bundles (the build checks): Node 20 loses its callback in cached code.
    const script = new vm.Script(Module.wrap(content), { filename, cachedData })
    if (!cachedData || script.cachedDataRejected) pending.push({ script, file })
    const fn = script.runInThisContext({ displayErrors: true })
    return fn.call(this.exports, this.exports, requireFor(this, main), this, filename, path.dirname(filename))
  }
  process.on('exit', () => {
    for (const { script, file } of pending) save(dir, file, script)
  })
}

/** Writes one bundle's cache (after the run: the functions it compiled lazily are in it too). */
function save(dir, file, script) {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 })
    fs.renameSync(tmp, file)
    // Several builds may take turns (a global install and a project's): keep each bundle's 3 newest.
    const bundleOf = (name) => /^(.+)-[0-9a-f]{32}\.bin$/.exec(name)?.[1]
    const bundle = bundleOf(path.basename(file))
    const same = fs
      .readdirSync(dir)
      .filter((name) => bundleOf(name) === bundle)
      .map((name) => ({ name, at: fs.statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.at - a.at)
    for (const { name } of same.slice(3)) fs.rmSync(path.join(dir, name), { force: true })
  } catch {
    try {
      fs.rmSync(tmp, { force: true })
    } catch {
      /* nothing to tidy */
    }
  }
}

module.exports = { useCodeCache }
