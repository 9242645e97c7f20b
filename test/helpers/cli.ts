import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

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

/** Variables that would leak the developer's own setup into a test run. */
const SCRUB = [
  'AUTHCTL_PROFILE',
  'AUTHCTL_STORE',
  'AUTHCTL_PASSPHRASE',
  'AUTHCTL_TIMEOUT',
  'AUTHCTL_MIN_TTL',
  'AUTHCTL_CACHE',
  'AUTHCTL_CACHE_KEY',
  'LUCIDWORKS_CLIENT_ID',
  'LUCIDWORKS_CLIENT_SECRET',
  'LUCIDWORKS_APPLICATION_ID',
  'LUCIDWORKS_CUSTOMER_ID',
  'OAUTH2_TOKEN_URL',
  'OAUTH2_CLIENT_ID',
  'OAUTH2_CLIENT_SECRET',
  'OAUTH2_SCOPE',
  'OAUTH2_AUDIENCE',
  'OAUTH2_RESOURCE',
  'OAUTH2_AUTH',
  'OAUTH2_REFRESH_TOKEN',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_COLOR',
  'CI',
  'GITHUB_ACTIONS',
  'AUTHCTL_MASK',
]

/** A clean environment for the CLI: the parent's, minus anything authctl would read. */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of SCRUB) delete env[k]
  delete env.NODE_OPTIONS
  return { ...env, ...extra }
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
