import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { baseEnv } from '../helpers/cli.js'
import { installPackedTarball, REPO, tsc } from '../helpers/consumer.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { hasTmux, startTmux } from '../helpers/tmux.js'
import { tempDir } from '../helpers/tmp.js'

const SECRET = 'lw-secret-0123456789'
let lw: LucidworksEmulator
let project: string
let cliBin: string

/**
 * The same probe as ESM and CommonJS: makes library calls in turn (argv: a JSON array of
 * [function, ...arguments]) and prints, as JSON, each result or error, and which heavy modules
 * were loaded at import and after each call.
 */
const probeBody = `
const heavy = () => Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/](undici|@inquirer|chalk|ioredis)[\\\\/]|[\\\\/]dist[\\\\/](prompts|chalk|undici)\\.cjs$/.test(k))
const out = { loadedAtImport: heavy(), calls: [] }
;(async () => {
  for (const [fn, ...args] of JSON.parse(process.argv[2])) {
    try {
      out.calls.push({ result: await lib[fn](...args), loadedAfter: heavy() })
    } catch (err) {
      out.calls.push({ error: { isAuthctlError: err instanceof lib.AuthctlError, name: err.name, exitCode: err.exitCode, code: err.code, message: err.message, hint: err.hint } })
    }
  }
  console.log(JSON.stringify(out))
})()
`
const PROBES = {
  esm: `import * as lib from 'authctl'\nimport { createRequire } from 'node:module'\nconst require = createRequire(import.meta.url)\n${probeBody}`,
  cjs: `const lib = require('authctl')\n${probeBody}`,
}

interface ProbeCall {
  result?: Record<string, unknown>
  loadedAfter?: string[]
  error?: { isAuthctlError: boolean; name: string; exitCode: number; code: string; message: string; hint?: string }
}

type Call = ['getToken' | 'getHeaders', string, Record<string, unknown>?] | ['getEnv', Record<string, unknown>?]

async function probe(kind: 'esm' | 'cjs', env: NodeJS.ProcessEnv, ...calls: Call[]): Promise<{ loadedAtImport: string[]; calls: ProbeCall[] }> {
  const r = await node([join(project, kind === 'esm' ? 'probe.mjs' : 'probe.cjs'), JSON.stringify(calls)], env)
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as { loadedAtImport: string[]; calls: ProbeCall[] }
}

/** One probe call's result (failing the test on an error). */
async function call(kind: 'esm' | 'cjs', env: NodeJS.ProcessEnv, c: Call): Promise<ProbeCall & { loadedAtImport: string[] }> {
  const out = await probe(kind, env, c)
  expect(out.calls[0]?.error).toBeUndefined()
  return { ...(out.calls[0] as ProbeCall), loadedAtImport: out.loadedAtImport }
}

/** `node ARGS` with generous time: the shared machine is often heavily loaded. */
function node(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => c.kill('SIGKILL'), 150_000)
    c.on('error', reject)
    c.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    c.stdin.end(input)
  })
}

/** The installed package's CLI (node_modules/authctl/bin), not this checkout's. */
function cli(args: string[], env: NodeJS.ProcessEnv, input = '') {
  return node([cliBin, ...args], env, input)
}

function fileEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return baseEnv({
    AUTHCTL_CONFIG_DIR: tempDir('lib-'),
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'lib passphrase',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    ...extra,
  })
}

async function loggedIn(extraArgs: string[] = []): Promise<NodeJS.ProcessEnv> {
  const env = fileEnv()
  const r = await cli(
    [
      'login',
      'lucidworks',
      '--client-id',
      'lw-client',
      '--client-secret-stdin',
      '--scope',
      'machinelearning.predict',
      '--scope',
      'machinelearning.model',
      ...extraArgs,
    ],
    env,
    SECRET,
  )
  expect(r.stderr).toContain('Logged in')
  expect(r.code).toBe(0)
  return env
}

beforeAll(async () => {
  lw = await startLucidworks()
  project = await installPackedTarball()
  cliBin = join(project, 'node_modules/authctl/bin/authctl.js')
  writeFileSync(join(project, 'probe.mjs'), PROBES.esm)
  writeFileSync(join(project, 'probe.cjs'), PROBES.cjs)
}, 180_000)
afterAll(async () => {
  await lw?.close()
  if (project) rmSync(project, { recursive: true, force: true })
})

describe('the packed tarball, installed in a project outside the repository', () => {
  it('ESM and CommonJS entry points serve the token the CLI cached with no request and without loading undici, prompts or chalk; a renewal loads them only then', async () => {
    const env = await loggedIn()
    const fromCli = JSON.parse((await cli(['token', 'lucidworks', '--format', 'json'], env)).stdout)
    const cached = { accessToken: fromCli.access_token, tokenType: 'Bearer', expiresAt: Date.parse(fromCli.expires_at), scopes: fromCli.scopes }
    const before = lw.tokenRequests()
    const esm = await call('esm', env, ['getToken', 'lucidworks'])
    expect(esm).toEqual({ result: cached, loadedAtImport: [], loadedAfter: [] })
    expect(lw.tokenRequests()).toBe(before)
    // CommonJS: the cached token, then a forced renewal of another scope in the same process.
    const cjs = await probe('cjs', env, ['getToken', 'lucidworks', {}], ['getToken', 'lucidworks', { scope: 'machinelearning.model', forceRefresh: true }])
    expect(cjs.loadedAtImport).toEqual([])
    expect(cjs.calls[0]).toEqual({ result: cached, loadedAfter: [] })
    expect(cjs.calls[1]?.loadedAfter?.some((p) => p.includes('undici'))).toBe(true) // the probe does see lazy loads
    expect(cjs.calls[1]?.result?.scopes).toEqual(['machinelearning.model'])
    expect(lw.tokenRequests()).toBe(before + 1)
    const renewed = cjs.calls[1]?.result?.accessToken as string
    expect(lw.isValid(renewed) && lw.isValid(fromCli.access_token)).toBe(true)
    // The CLI serves the library's renewal from the same cache.
    expect((await cli(['token', 'lucidworks', '--scope', 'machinelearning.model'], env)).stdout).toBe(`${renewed}\n`)
    expect(lw.tokenRequests()).toBe(before + 1)
  })

  it('getHeaders gives the `--format header` lines and getEnv the variables an exec child sees', async () => {
    const env = await loggedIn(['--application-id', 'app-1'])
    const lines = (await cli(['token', 'lucidworks', '--format', 'header'], env)).stdout.trim().split('\n')
    const out = await probe('esm', env, ['getHeaders', 'lucidworks'], ['getEnv'])
    expect(out.calls[0]?.result).toEqual(Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)])))
    const vars = out.calls[1]?.result as Record<string, string>
    expect(Object.keys(vars).sort()).toEqual([
      'AUTHCTL_PROFILE',
      'LUCIDWORKS_ACCESS_TOKEN',
      'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL',
      'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT',
      'LUCIDWORKS_APPLICATION_ID',
    ])
    const child = await cli(
      [
        'exec',
        '--',
        process.execPath,
        '-e',
        `const e = process.env; console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(Object.keys(vars))}.map((k) => [k, e[k]]))))`,
      ],
      env,
    )
    expect(JSON.parse(child.stdout)).toEqual(vars)
    expect(JSON.stringify(vars)).not.toContain(SECRET)
  })

  it('a warning is a process warning, emitted once however often a long-running program repeats the call', async () => {
    const env = await loggedIn()
    const again: Call = ['getToken', 'lucidworks', { minTtl: 3600 }] // above what a 1 h token can give: clamped, with a warning
    const r = await node([join(project, 'probe.cjs'), JSON.stringify([again, again, again])], env)
    expect(r.code, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as { calls: ProbeCall[] }).calls.every((c) => c.result?.accessToken)).toBe(true)
    expect(r.stderr.match(/AuthctlWarning: .*min-?ttl/gi)).toHaveLength(1)
    expect(r.stderr).toMatch(/AuthctlWarning: minTtl 3600 s is not below/) // named as the caller gave it, not as the CLI's --min-ttl
  })

  it('a shared cache that does not answer costs one timeout per process, not one per call', async () => {
    const env = await loggedIn()
    // Accepts connections and never answers: each attempt waits for the 1.5 s timeout.
    let connections = 0
    const silent = createServer((sock) => {
      connections++
      sock.on('error', () => undefined)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    try {
      const cache = {
        AUTHCTL_CACHE: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        AUTHCTL_CACHE_KEY: 'library-fleet-key-0123456789abcdefghij',
      }
      const again: Call = ['getToken', 'lucidworks', {}]
      const r = await node([join(project, 'probe.cjs'), JSON.stringify([again, again, again])], { ...env, ...cache })
      expect(r.code, r.stderr).toBe(0)
      expect((JSON.parse(r.stdout) as { calls: ProbeCall[] }).calls.every((c) => c.result?.accessToken)).toBe(true)
      expect(connections).toBe(1)
      expect(r.stderr.match(/AuthctlWarning/g)).toHaveLength(1)
    } finally {
      silent.close()
    }
  })

  it('errors are AuthctlError with the CLI exit code and a stable code, in both module systems, and nothing prompts', async () => {
    const env = await loggedIn()
    const locked = { ...env, AUTHCTL_PASSPHRASE: '' }
    const notLoggedIn = fileEnv()
    for (const kind of ['esm', 'cjs'] as const) {
      const [store] = (await probe(kind, locked, ['getToken', 'lucidworks'])).calls.map((c) => c.error)
      expect(store).toMatchObject({ isAuthctlError: true, exitCode: 6, code: 'AUTHCTL_STORE_UNAVAILABLE' })
      expect(store?.hint).toContain('AUTHCTL_PASSPHRASE')
      const [auth, none] = (await probe(kind, notLoggedIn, ['getToken', 'lucidworks'], ['getEnv'])).calls.map((c) => c.error)
      expect(auth).toMatchObject({ isAuthctlError: true, exitCode: 4, code: 'AUTHCTL_AUTH_REQUIRED' })
      expect(none).toMatchObject({ isAuthctlError: true, exitCode: 4, code: 'AUTHCTL_AUTH_REQUIRED' })
      const [usage, ttl] = (await probe(kind, env, ['getToken', 'nosuch'], ['getToken', 'lucidworks', { minTtl: -5 }])).calls.map((c) => c.error)
      expect(usage).toMatchObject({ isAuthctlError: true, exitCode: 2, code: 'AUTHCTL_USAGE' })
      expect(ttl).toMatchObject({ isAuthctlError: true, exitCode: 2, code: 'AUTHCTL_USAGE' })
    }
    expect((await cli(['token', 'lucidworks'], notLoggedIn)).code).toBe(4)
    expect((await cli(['token', 'nosuch'], env)).code).toBe(2)
    lw.faults.push({ path: '/v1/token', status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed.' }) })
    const [rejected] = (await probe('esm', env, ['getToken', 'lucidworks', { forceRefresh: true }])).calls.map((c) => c.error)
    expect(rejected).toMatchObject({ isAuthctlError: true, exitCode: 4 })
    expect(rejected?.message).not.toContain(SECRET)
  })

  it.skipIf(!hasTmux())('in a real terminal, where the CLI asks for the passphrase, the library does not: a locked file store is exit 6 at once', async () => {
    const env = await loggedIn()
    const locked = { ...env, AUTHCTL_PASSPHRASE: undefined, TERM: 'xterm' }
    const out = join(project, `tty-${Date.now()}.json`)
    const calls = JSON.stringify([['getToken', 'lucidworks']])
    const lib = startTmux(`authctl-lib-${process.pid}`, `${process.execPath} ${join(project, 'probe.mjs')} '${calls}' > ${out}`, locked)
    const cliSession = startTmux(`authctl-lib-cli-${process.pid}`, `${process.execPath} ${cliBin} token lucidworks`, locked)
    try {
      await cliSession.waitFor(/Passphrase/, 60_000) // the terminal is one the CLI would prompt on
      const screen = await lib.waitFor(/EXIT:\d+/, 30_000)
      expect(screen).toContain('EXIT:0')
      expect(screen).not.toMatch(/passphrase/i)
      const [err] = (JSON.parse(readFileSync(out, 'utf8')) as { calls: ProbeCall[] }).calls.map((c) => c.error)
      expect(err).toMatchObject({ isAuthctlError: true, exitCode: 6, code: 'AUTHCTL_STORE_UNAVAILABLE' })
    } finally {
      lib.kill()
      cliSession.kill()
    }
  })

  it('the shipped type declarations compile for ESM (.mts) and CommonJS (.cts) consumers', async () => {
    writeFileSync(
      join(project, 'use.mts'),
      `import { getToken, getHeaders, getEnv, AuthctlError, ExitCode, type Token } from 'authctl'
const t: Token = await getToken('lucidworks', { profile: 'ci', scope: 'machinelearning.predict', minTtl: 60, forceRefresh: true })
const expires: number | null = t.expiresAt
const h: Record<string, string> = await getHeaders('lucid')
const e: Record<string, string> = await getEnv({ providers: ['lucidworks'], scopes: ['machinelearning.model'], minTtl: 600 })
let why: [string, string | undefined] | undefined
try { await getToken('haut') } catch (err) { if (err instanceof AuthctlError && err.exitCode === ExitCode.Store) why = [err.code, err.hint] }
// @ts-expect-error minTtl is a number of seconds
await getToken('lucidworks', { minTtl: '60' })
export const seen = [expires, h, e, why]
`,
    )
    writeFileSync(
      join(project, 'use.cts'),
      `import { getToken, AuthctlError, type Token } from 'authctl'
async function main(): Promise<string> {
  try {
    const t: Token = await getToken('lupa')
    return t.accessToken
  } catch (err) {
    if (err instanceof AuthctlError) return String(err.exitCode) + err.code
    throw err
  }
}
// @ts-expect-error the token has no refresh token
main().then((t) => t.refreshToken)
`,
    )
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        // No DOM or Node types: the declarations must not lean on any ambient type (and tsc
        // without lib.dom.d.ts takes a third of the CPU).
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, lib: ['es2022'], types: [] },
        files: ['use.mts', 'use.cts'],
      }),
    )
    await expect(tsc(project)).resolves.toBeDefined()
  })
})

describe('one renewal between library callers and CLI processes', () => {
  it('8 library processes (ESM and CJS) and 8 `authctl token` processes with a stale cache make exactly one token request', async () => {
    const env = await issuingStaleTokens(lw, () => loggedIn()) // the login caches a token that is stale by now
    const before = lw.tokenRequests()
    const libs = Array.from({ length: 8 }, (_, i) => call(i % 2 ? 'esm' : 'cjs', env, ['getToken', 'lucidworks']))
    const clis = Array.from({ length: 8 }, () => cli(['token', 'lucidworks'], env))
    const [libOut, cliOut] = await Promise.all([Promise.all(libs), Promise.all(clis)])
    expect(lw.tokenRequests() - before).toBe(1)
    expect(cliOut.map((r) => r.code)).toEqual(Array(8).fill(0))
    const tokens = new Set([...libOut.map((o) => o.result?.accessToken), ...cliOut.map((r) => r.stdout.trim())])
    expect(tokens.size).toBe(1)
    expect(lw.isValid([...tokens][0] as string)).toBe(true)
  })
})

describe('README "Use from Node"', () => {
  it('the fetch example renews once and retries when the API answers 401 for a token replaced elsewhere', async () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Use from Node'), readme.indexOf('\n## ', readme.indexOf('## Use from Node') + 1))
    const example = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string).find((c) => c.includes('lucidworksFetch'))
    expect(example).toBeDefined()
    writeFileSync(join(project, 'example.mjs'), example as string)
    writeFileSync(
      join(project, 'run-example.mjs'),
      `import { lucidworksFetch } from './example.mjs'
const res = await lucidworksFetch(process.argv[2], { headers: { 'Content-Type': 'application/json' } })
console.log(JSON.stringify({ status: res.status, body: await res.json() }))
`,
    )
    const env = await loggedIn()
    const api = `${lw.url}/ai/prediction/app-1/model-1`
    const calls = () => lw.count('/ai/prediction', 'GET')
    const run = async () => {
      const r = await node([join(project, 'run-example.mjs'), api], env)
      expect(r.code).toBe(0)
      return JSON.parse(r.stdout) as { status: number; body: unknown }
    }
    // A fresh cached token: one API call, no renewal.
    let tokens = lw.tokenRequests()
    let apiCalls = calls()
    expect(await run()).toEqual({ status: 200, body: { predictions: [{ response: 'ok' }] } })
    expect([calls() - apiCalls, lw.tokenRequests() - tokens]).toEqual([1, 0])
    // Someone else (another machine, a colleague's curl) issues a token for the same client and
    // scope: Lucidworks kills ours, which is still fresh in the cache.
    await issueElsewhere(lw.tokenUrl, 'lw-client', SECRET, 'machinelearning.predict')
    tokens = lw.tokenRequests()
    apiCalls = calls()
    expect(await run()).toEqual({ status: 200, body: { predictions: [{ response: 'ok' }] } })
    expect([calls() - apiCalls, lw.tokenRequests() - tokens]).toEqual([2, 1]) // 401, one renewal, the retry
  })
})

/** A token request made outside authctl, as another machine would. */
function issueElsewhere(tokenUrl: string, client: string, secret: string, scope: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(tokenUrl)
    u.searchParams.set('grant_type', 'client_credentials')
    u.searchParams.set('scope', scope)
    const req = request(u, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}` } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`token request: ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end()
  })
}
