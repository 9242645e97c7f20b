import { spawn } from 'node:child_process'
import { existsSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { emptyStoreFile } from '../../src/store/file.js'

/** bin/authctl.js of this checkout, found from here (test/helpers) or from dist-dev/ (the demo). */
function findBin(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'bin', 'authctl.js')
    if (existsSync(candidate)) return candidate
  }
  throw new Error(`bin/authctl.js not found above ${__dirname}`)
}

export const BIN = findBin()

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

export interface CliRun {
  env: NodeJS.ProcessEnv
  input?: string
  cwd?: string
  timeoutMs?: number
}

/**
 * Variables that would leak the developer's own setup into a test run: every provider's and
 * authctl's own (by prefix), proxies, CI markers and colour settings.
 */
const SCRUB_PREFIX = /^(AUTHCTL|LUCIDWORKS|LUPA|INSTABASE|LUCID|HAUT|OAUTH2)_/
const SCRUB = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'NO_COLOR', 'CI', 'GITHUB_ACTIONS', 'NODE_OPTIONS']

/**
 * Knobs for every CLI a test starts: retries back off from 2 ms instead of 250 ms (the retry
 * counts and Retry-After waits are unchanged). NODE_EXTRA_CA_CERTS is dropped: Node 20 parses
 * that file at every start (about 80 ms; see README "Performance"), and the emulators speak plain
 * HTTP on loopback; a test that needs a CA sets it itself.
 */
export const TEST_KNOBS: NodeJS.ProcessEnv = { AUTHCTL_RETRY_BASE_MS: '2' }

/** A clean environment for the CLI: the parent's, minus anything authctl would read, plus the test knobs. */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!SCRUB_PREFIX.test(k) && !SCRUB.includes(k) && k !== 'NODE_EXTRA_CA_CERTS') env[k] = v
  return { ...env, ...TEST_KNOBS, ...extra }
}

/**
 * scrypt cost of the file stores the tests create: 2^4 instead of the shipped 2^13 (SCRYPT in
 * src/store/file.ts). One scrypt per CLI process is most of a cached token's CPU: at the
 * shipped cost the suite spent about 50 s of its CPU there, and at 2^10 still ~7 ms per process
 * (a cached `token`: 85 → 78 ms of CPU, `perf stat`, 20 interleaved runs; 1 MiB of memory to
 * fault in and fill). The CLI runs the same code at any cost
 * (the store keeps the one its file records). `npm run bench` and the file store's unit tests
 * use the shipped cost.
 */
const TEST_SCRYPT = { N: 16, r: 8, p: 1 }

/**
 * Before a CLI runs on a file store that does not exist yet (AUTHCTL_STORE=file and a passphrase
 * in the environment), writes an empty one at TEST_SCRYPT, making the config dir (0700) if need
 * be. The store keeps the cost its file records, so the CLI runs the same code as on any
 * existing store. Prompted passphrases are left to the CLI, and so is a config dir path that is
 * taken by a file. The store appears whole or not at all (a hard link of a finished temp file),
 * and never replaces one.
 */
export function seedFileStore(env: NodeJS.ProcessEnv): void {
  const dir = env.AUTHCTL_CONFIG_DIR
  const pass = env.AUTHCTL_PASSPHRASE
  if (env.AUTHCTL_STORE !== 'file' || !dir || !pass) return
  const file = join(dir, 'secrets.enc')
  if (existsSync(file)) return
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch {
    return // the path is taken or not writable: the CLI says so
  }
  const tmp = `${file}.seed-${process.pid}`
  try {
    writeFileSync(tmp, emptyStoreFile(pass, TEST_SCRYPT), { mode: 0o600 })
    linkSync(tmp, file)
  } catch {
    /* not writable, or a store appeared meanwhile: the CLI does as it would */
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** Spawns the built CLI (never spawnSync: the emulators live in this process). */
export function runCli(args: readonly string[], opts: CliRun): Promise<CliResult> {
  return spawnNode([BIN, ...args], opts)
}

/** `node ARGS…` with the given environment (e.g. the full CLI without the fast path). */
export function runNode(nodeArgs: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return spawnNode(nodeArgs, { env })
}

function spawnNode(nodeArgs: readonly string[], opts: CliRun): Promise<CliResult> {
  if (process.env.VITEST) seedFileStore(opts.env) // not for the bench and the demo: they show the shipped cost
  const t0 = Date.now()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...nodeArgs], { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - t0 })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}
