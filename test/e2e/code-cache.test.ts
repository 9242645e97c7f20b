import { appendFileSync, cpSync, readFileSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { BIN, baseEnv, runCli, runNode } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/**
 * The V8 code cache the build ships in dist/v8-cache/<V8>-<arch>/ (bin/code-cache.js): a start
 * uses it for the bundles it loads; a damaged, truncated, stale or refused cache is passed over
 * and the CLI runs as before; nothing is written at run time.
 */
const ROOT = dirname(dirname(BIN))
const TAG = `${process.versions.v8}-${process.arch}`
const CLI_BUNDLES = ['authctl', 'fast', 'undici', 'prompts', 'chalk']

/** Loads the bundles of the package in the last argument through its code cache; prints each one's state. */
const PROBE = `
const path = require('node:path'); const pkg = process.argv.at(-1)
const cc = require(path.join(pkg, 'bin', 'code-cache.js')); cc.useCodeCache(path.join(pkg, 'dist'), module)
for (const b of ['fast', 'authctl']) require(path.join(pkg, 'dist', b + '.cjs'))
if (Number(process.versions.node.split('.')[0]) < 22) require('node:v8').setFlagsFromString('--liftoff-only') // as the CLI's undici shim
require(path.join(pkg, 'dist', 'undici.cjs'))
console.log(JSON.stringify(Object.fromEntries(cc.loads.map((l) => [l.bundle, l.state]))))`

async function probe(pkg: string, nodeFlags: string[] = []): Promise<Record<string, string>> {
  const r = await runNode([...nodeFlags, '-e', PROBE, pkg], baseEnv())
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as Record<string, string>
}

/** Every file under `dir` with its size and mtime. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => {
      const st = statSync(join(dir, f))
      return `${f} ${st.size} ${st.mtimeMs}`
    })
}

describe('V8 code cache of the CLI bundles', () => {
  let pkg: string
  beforeAll(() => {
    // A copy of the built package whose cache files the tests may damage.
    pkg = tempDir('code-cache-')
    for (const p of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, p), join(pkg, p), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'))
  })

  it('the build ships one for this Node, and a start compiles each bundle from it', async () => {
    const files = readdirSync(join(ROOT, 'dist', 'v8-cache', TAG)).sort()
    expect(files).toEqual(['authctl.cjs.bin', 'fast.cjs.bin', 'undici.cjs.bin'])
    expect(await probe(ROOT)).toEqual({ 'fast.cjs': 'used', 'authctl.cjs': 'used', 'undici.cjs': 'used' })
  })

  it('a cache V8 refuses (other V8 flags) is passed over', async () => {
    expect(await probe(ROOT, ['--stack-size=900'])).toEqual({ 'fast.cjs': 'rejected', 'authctl.cjs': 'rejected', 'undici.cjs': 'rejected' })
  })

  it('a damaged, truncated or stale cache is passed over, the CLI answers as before, and nothing is written at run time', async () => {
    const cache = join(pkg, 'dist', 'v8-cache', TAG)
    const fast = join(cache, 'fast.cjs.bin')
    const bytes = readFileSync(fast)
    bytes[bytes.length >> 1] ^= 0xff // one bit pattern flipped in the payload
    writeFileSync(fast, bytes)
    truncateSync(join(cache, 'authctl.cjs.bin'), 40)
    appendFileSync(join(pkg, 'dist', 'undici.cjs'), '\n// edited after the build\n') // the cache no longer matches it
    expect(await probe(pkg)).toEqual({ 'fast.cjs': 'damaged', 'authctl.cjs': 'damaged', 'undici.cjs': 'stale' })

    const home = tempDir('code-cache-home-')
    const before = listing(pkg)
    const env = baseEnv({ HOME: home, AUTHCTL_CONFIG_DIR: join(tempDir('code-cache-config-'), 'config'), AUTHCTL_STORE: 'file', AUTHCTL_PASSPHRASE: 'p' })
    for (const args of [
      ['status', '--json'],
      ['token', 'lucidworks'],
    ]) {
      const damaged = await runNode([join(pkg, 'bin', 'authctl.js'), ...args], env)
      const pristine = await runCli(args, { env })
      expect({ code: damaged.code, stdout: damaged.stdout, stderr: damaged.stderr }, args.join(' ')).toEqual({
        code: pristine.code,
        stdout: pristine.stdout,
        stderr: pristine.stderr,
      })
    }
    expect(listing(pkg)).toEqual(before)
    expect(readdirSync(home)).toEqual([]) // no ~/.cache/authctl or anything else
  })

  it('no CLI bundle calls import(): Node 20 has no callback for it in code compiled from a cache', () => {
    for (const b of CLI_BUNDLES) expect(readFileSync(join(ROOT, 'dist', `${b}.cjs`), 'utf8'), b).not.toMatch(/[^\w$.]import\(/)
  })
})
