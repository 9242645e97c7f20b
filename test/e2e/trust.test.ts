import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { slotId } from '../../src/tokens/token-cache.js'
import type { Hostile } from '../emulators/_server.js'
import { startHaut, type HautEmulator } from '../emulators/haut.js'
import { startLucid, type LucidEmulator } from '../emulators/lucid.js'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { startLupaSearch, type LupaEmulator } from '../emulators/lupasearch.js'
import { baseEnv, BIN, runCli } from '../helpers/cli.js'
import { snapshotDir } from '../helpers/fs.js'
import { freePort } from '../helpers/net.js'
import { hasRedisServer, startRedis, type RedisServer } from '../helpers/redis.js'
import { missingTools, startSecretService, type SecretService } from '../helpers/secret-service.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { tempDir } from '../helpers/tmp.js'

/**
 * CONTRACT 0.2 "Trust rules" and "Lucid OAuth", one describe per rule, each driving the built CLI
 * against the emulators (hostile mode: control characters, bad tokens, absurd expiries).
 */

const LW_SECRET = 'lw-secret-0123456789'
const LUPA = { email: 'dev@example.com', password: 'lupa-password-123' }
const HAUT = { email: 'lab@example.com', password: 'haut-password-123' }
const LUCID_SECRET = 'lucid-secret-0123456789'
const PASSPHRASE = 'vault-passphrase-4f1d9a'
const FLEET_KEY = 'fleet-key-0123456789abcdefghijklmnopqrstuv'
const REDIS_PASSWORD = 'redis-password-8c2e5b'

/** Raw control bytes a terminal would act on (newline and tab are ours to print). */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/
/** OSC 52 (clipboard write), screen clear, an 8-bit CSI and a carriage return hiding a fake prompt. */
const EVIL = '\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b31m\rPassword: '

let lw: LucidworksEmulator
let lupa: LupaEmulator
let haut: HautEmulator
let lucid: LucidEmulator
beforeAll(async () => {
  ;[lw, lupa, haut, lucid] = await Promise.all([startLucidworks(), startLupaSearch(), startHaut(), startLucid()])
})
afterAll(async () => {
  await Promise.all([lw, lupa, haut, lucid].map((e) => e?.close()))
})

const newDir = (prefix: string) => tempDir(prefix)

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return baseEnv({
    AUTHCTL_CONFIG_DIR: join(newDir('trust-'), 'config'),
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: PASSPHRASE,
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
    AUTHCTL_HAUT_API_URL: haut.apiUrl,
    AUTHCTL_LUCID_API_URL: lucid.apiUrl,
    AUTHCTL_LUCID_AUTHORIZE_URL: lucid.authorizeUrl,
    ...extra,
  })
}

async function ok(argv: string[], e: NodeJS.ProcessEnv, input?: string) {
  const r = await runCli(argv, { env: e, input })
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0)
  return r
}

const loginLw = (e: NodeJS.ProcessEnv) => ok(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], e, LW_SECRET)
const loginLupa = (e: NodeJS.ProcessEnv) => ok(['login', 'lupasearch', '--email', LUPA.email, '--password-stdin', '--project', 'shop'], e, LUPA.password)

/** Runs fn with the emulator in hostile mode, restoring a well-behaved server afterwards. */
async function hostile<T>(emu: { hostile: Hostile }, h: Hostile, fn: () => Promise<T>): Promise<T> {
  Object.assign(emu.hostile, h)
  try {
    return await fn()
  } finally {
    for (const k of Object.keys(h)) delete emu.hostile[k as keyof Hostile]
  }
}

/** A child that prints its whole environment as JSON, and its first argument. */
const PRINT_ENV = [process.execPath, '-e', 'console.log(JSON.stringify(process.env)); if (process.argv[1]) console.log(process.argv[1])']

describe('Trust rule: the child gets tokens, never keys to the vault', () => {
  const VAULT = [
    'AUTHCTL_PASSPHRASE',
    'AUTHCTL_CACHE',
    'AUTHCTL_CACHE_KEY',
    'LUCIDWORKS_CLIENT_SECRET',
    'LUPA_PASSWORD',
    'HAUT_PASSWORD',
    'LUCID_CLIENT_SECRET',
  ]
  let redis: RedisServer | undefined
  beforeAll(async () => {
    if (!hasRedisServer()) throw new Error('redis-server is not installed (apt-get install redis-server)')
    redis = await startRedis({ password: REDIS_PASSWORD })
  })
  afterAll(() => redis?.stop())

  /** The vault variables a careless CI job would have set, next to credentials in the environment. */
  const vaultEnv = () => ({
    AUTHCTL_CACHE: redis?.url as string,
    AUTHCTL_CACHE_KEY: FLEET_KEY,
    LUPA_PASSWORD: 'lupa-password-unused-here',
    HAUT_PASSWORD: 'haut-password-unused-here',
    LUCID_CLIENT_SECRET: 'lucid-secret-unused-here',
  })

  function expectNoVaultKeys(stdout: string): Record<string, string> {
    const childEnv = JSON.parse(stdout.split('\n')[0] as string) as Record<string, string>
    for (const name of VAULT) expect(childEnv, name).not.toHaveProperty(name)
    for (const secret of [PASSPHRASE, FLEET_KEY, REDIS_PASSWORD, LW_SECRET]) expect(stdout).not.toContain(secret)
    return childEnv
  }

  it('file store: exec -- env shows tokens, and no passphrase, cache URL, fleet key or login secret', async () => {
    const e = env()
    await loginLw(e)
    const r = await ok(['exec', '--', ...PRINT_ENV], { ...e, ...vaultEnv(), LUCIDWORKS_CLIENT_SECRET: 'inherited-lw-secret' })
    const childEnv = expectNoVaultKeys(r.stdout)
    expect(lw.isValid(childEnv.LUCIDWORKS_ACCESS_TOKEN as string)).toBe(true)
  })

  it('environment credentials: the same, and the login secret variable itself is removed', async () => {
    const e = env({
      AUTHCTL_STORE: undefined,
      AUTHCTL_PASSPHRASE: PASSPHRASE,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: LW_SECRET,
      ...vaultEnv(),
    })
    const r = await ok(['exec', '--provider', 'lucidworks', '--', ...PRINT_ENV], e)
    const childEnv = expectNoVaultKeys(r.stdout)
    expect(lw.isValid(childEnv.LUCIDWORKS_ACCESS_TOKEN as string)).toBe(true)
  })

  it('--mask masks the removed values too, should the child print them', async () => {
    const e = env({ ...vaultEnv() })
    await loginLw(e)
    for (const leaked of [PASSPHRASE, FLEET_KEY, REDIS_PASSWORD, redis?.url as string]) {
      const r = await ok(['exec', '--mask', '--', process.execPath, '-e', 'console.log("leak:" + process.argv[1])', leaked], e)
      expect(r.stdout).toBe('leak:***\n')
    }
  })
})

const missing = missingTools()
describe.skipIf(missing.length > 0 && !process.env.CI)('Trust rule: the child gets tokens, never keys to the vault (keychain)', () => {
  let ss: SecretService
  beforeAll(async () => {
    ss = await startSecretService()
  })
  afterAll(() => ss?.stop())

  it('keychain store: exec -- env holds the token and nothing that unlocks anything', async () => {
    const e = env({ ...ss.env, AUTHCTL_STORE: 'keychain', AUTHCTL_CACHE_KEY: FLEET_KEY })
    await loginLw(e)
    const r = await ok(['exec', '--', ...PRINT_ENV], e)
    const childEnv = JSON.parse(r.stdout.split('\n')[0] as string) as Record<string, string>
    for (const name of ['AUTHCTL_PASSPHRASE', 'AUTHCTL_CACHE_KEY', 'LUCIDWORKS_CLIENT_SECRET']) expect(childEnv).not.toHaveProperty(name)
    expect(r.stdout).not.toContain(LW_SECRET)
    expect(lw.isValid(childEnv.LUCIDWORKS_ACCESS_TOKEN as string)).toBe(true)
  })
})

describe.skipIf(missing.length > 0 && !process.env.CI)('Trust rule: concurrent logins never fail because of each other', () => {
  let ss: SecretService
  beforeAll(async () => {
    ss = await startSecretService()
  })
  afterAll(() => ss?.stop())

  it('12 parallel keychain logins all succeed, and leave no probe item behind', { timeout: 120_000 }, async () => {
    const e = env({ ...ss.env, AUTHCTL_STORE: 'auto', AUTHCTL_PASSPHRASE: undefined })
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        runCli(['--profile', `p${i}`, 'login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], {
          env: e,
          input: LW_SECRET,
          timeoutMs: 60_000,
        }),
      ),
    )
    expect(runs.map((r) => [r.code, r.stderr.includes('keychain') ? '' : r.stderr])).toEqual(Array(12).fill([0, '']))
    expect(ss.accounts().filter((a) => a.startsWith('__authctl_probe__'))).toEqual([])
    expect(ss.accounts().filter((a) => a.startsWith('lucidworks:p')).length).toBe(12)
  })
})

describe('Trust rule: text from a server is data, not terminal input', () => {
  it('whoami, status, keys list, login summaries and the config carry no control characters; --json only escaped', async () => {
    const e = env()
    await hostile(lupa, { text: EVIL }, async () => {
      const login = await loginLupa(e)
      expect(login.stderr).not.toMatch(RAW_CONTROL)
      await ok(['keys', 'create', 'lupasearch', '--description', 'ci'], e)
      const outputs = [await ok(['whoami', 'lupasearch'], e), await ok(['status'], e), await ok(['keys', 'list', 'lupasearch'], e)]
      for (const r of outputs) {
        expect(r.stdout + r.stderr).not.toMatch(RAW_CONTROL)
        expect(r.stdout).toContain('Password: ') // the text itself is kept, minus what a terminal would run
      }
      for (const argv of [
        ['whoami', 'lupasearch', '--json'],
        ['status', '--json'],
        ['keys', 'list', 'lupasearch', '--json'],
      ]) {
        const r = await ok(argv, e)
        expect(r.stdout, argv.join(' ')).not.toMatch(RAW_CONTROL)
        expect(() => JSON.parse(r.stdout)).not.toThrow()
      }
      const whoami = JSON.parse((await ok(['whoami', 'lupasearch', '--json'], e)).stdout)
      expect(whoami.email).toContain('\x1b]52') // JSON carries it, escaped, for programs to judge
    })
    const config = readFileSync(join(e.AUTHCTL_CONFIG_DIR as string, 'config.json'), 'utf8')
    expect(JSON.parse(config).profiles['lupasearch:default'].data.email).not.toMatch(RAW_CONTROL)
  })

  it('error descriptions from a server reach stderr without control characters', async () => {
    const e = env()
    await hostile(lupa, { text: EVIL }, async () => {
      const r = await runCli(['login', 'lupasearch', '--email', LUPA.email, '--password-stdin'], { env: e, input: 'wrong-password' })
      expect(r.code).toBe(4)
      expect(r.stderr).toContain('Invalid email or password')
      expect(r.stderr).not.toMatch(RAW_CONTROL)
    })
    await hostile(lw, { text: EVIL }, async () => {
      const r = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env: e, input: 'wrong-secret' })
      expect(r.code).toBe(4)
      expect(r.stderr).not.toMatch(RAW_CONTROL)
    })
  })

  it('callback parameters (Lucid error_description) are cleaned too', async () => {
    const e = env()
    lucid.consent = 'deny'
    try {
      await hostile(lucid, { text: EVIL }, async () => {
        const r = await browserLogin(e, await freePort(), (url) => fetch(url))
        expect(r.code).toBe(4)
        expect(r.stderr).toContain('access_denied')
        expect(r.stderr).not.toMatch(RAW_CONTROL)
      })
    } finally {
      lucid.consent = 'approve'
    }
  })
})

describe('Trust rule: a token is printable', () => {
  const BAD = {
    newline: 'tok-AAAA\nX-Injected: yes',
    nul: 'tok-BBBB\u0000tail-secret',
    space: 'tok CCCC',
    nonAscii: 'tok-DDDD-é',
    tooLong: `tok-${'E'.repeat(16384)}`,
    empty: '',
  }

  // Every kind of bad token through `token`; `exec` (the other command that hands a token on) with
  // two of them. test/unit/core/trust.test.ts checks each kind against checkToken itself.
  it.each(Object.entries(BAD))('a %s in an access token is exit 5 `malformed token`, not echoed, nothing cached', async (name, bad) => {
    const e = env({ AUTHCTL_STORE: undefined, LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: LW_SECRET })
    await hostile(lw, { token: bad }, async () => {
      for (const argv of [['token', 'lucidworks', '--format', 'header'], ...(['newline', 'tooLong'].includes(name) ? [['exec', '--', 'true']] : [])]) {
        const r = await runCli(argv, { env: e })
        expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(5)
        expect(r.stdout).toBe('')
        if (bad) expect(r.stderr).not.toContain(bad.slice(0, 12))
        if (bad) expect(r.stderr).toContain('malformed')
      }
    })
    expect(snapshotDir(e.AUTHCTL_CONFIG_DIR as string)).toEqual({})
  })

  it('a bad token at login is exit 5 and nothing is stored (password providers, created keys)', async () => {
    const e = env()
    await hostile(lupa, { token: BAD.newline }, async () => {
      const r = await runCli(['login', 'lupasearch', '--email', LUPA.email, '--password-stdin'], { env: e, input: LUPA.password })
      expect(r.code).toBe(5)
      expect(r.stderr).toContain('malformed token')
    })
    expect(existsSync(join(e.AUTHCTL_CONFIG_DIR as string, 'config.json'))).toBe(false)
    await ok(['login', 'haut', '--email', HAUT.email, '--password-stdin'], e, HAUT.password)
    await hostile(haut, { token: BAD.nul }, async () => {
      const r = await runCli(['keys', 'create', 'haut', '--name', 'x', '--expires', '30d', '--save'], { env: e })
      expect(r.code).toBe(5)
      expect(r.stdout).toBe('')
      expect(r.stderr).not.toContain('tail-secret')
    })
  })

  it('a malformed rotated refresh token is refused and the stored grant kept', async () => {
    const e = env()
    const port = await freePort()
    const login = await issuingStaleTokens(lucid, () => browserLogin(e, port, (url) => fetch(url)))
    expect(login.code).toBe(0)
    const before = snapshotDir(e.AUTHCTL_CONFIG_DIR as string)
    await hostile(lucid, { token: BAD.space }, async () => {
      const r = await runCli(['token', 'lucid'], { env: e })
      expect(r.code).toBe(5)
      expect(r.stderr).toContain('malformed token')
    })
    const after = snapshotDir(e.AUTHCTL_CONFIG_DIR as string)
    expect(after['secrets.enc']).toBe(before['secrets.enc'])
  })
})

describe('Trust rule: expiry is sane', () => {
  const HOUR = 3600_000
  const near = (iso: string, target: number) => Math.abs(Date.parse(iso) - target) < 120_000

  // Three of the absurd values end to end; test/unit/core/trust.test.ts runs every one (1e15, zero,
  // 367 days, a string, NaN…) through saneIn, the one expiry rule all providers use.
  it.each([
    ['1e308', 1e308],
    ['Infinity (1e999)', '1e999'],
    ['negative', -5],
  ])('expires_in %s is ignored: the JWT exp is used; token --json and status work; no renewal on every call', async (_n, bad) => {
    const e = env({ AUTHCTL_STORE: undefined, LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: LW_SECRET })
    const j = await hostile(lw, { expiresIn: bad }, () => ok(['token', 'lucidworks', '--format', 'json'], e))
    expect(near(JSON.parse(j.stdout).expires_at, Date.now() + HOUR)).toBe(true)
    const before = lw.tokenRequests()
    expect(JSON.parse((await ok(['token', 'lucidworks', '--format', 'json'], e)).stdout).expires_at).toBe(JSON.parse(j.stdout).expires_at)
    expect(lw.tokenRequests()).toBe(before)
    await ok(['status'], e)
    await ok(['status', '--json'], e)
  })

  it('absurd expires_in and JWT exp together fall back to one hour', async () => {
    const e = env({ AUTHCTL_STORE: undefined, LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: LW_SECRET })
    const j = await hostile(lw, { expiresIn: 1e308, jwtExp: 1e308 }, () => ok(['token', 'lucidworks', '--format', 'json'], e))
    expect(near(JSON.parse(j.stdout).expires_at, Date.now() + HOUR)).toBe(true)
    await ok(['whoami', 'lucidworks', '--json'], e)
  })

  // pickExpiry's unit test covers the other far-future and non-number exps.
  it.each([
    ['1e308', 1e308],
    ['past', 1000],
    ['string', 'soon'],
  ])('a JWT exp of %s (Lupa, Haut) means one hour', async (_n, exp) => {
    const e = env()
    await hostile(lupa, { jwtExp: exp }, () => loginLupa(e))
    await hostile(haut, { jwtExp: exp }, () => ok(['login', 'haut', '--email', HAUT.email, '--password-stdin'], e, HAUT.password))
    for (const p of ['lupasearch', 'haut']) {
      const j = JSON.parse((await ok(['token', p, '--format', 'json'], e)).stdout)
      expect(near(j.expires_at, Date.now() + HOUR), `${p}: ${j.expires_at}`).toBe(true)
    }
    await ok(['status'], e)
  })

  it('no command fails on formatting a date: key expirations that are not dates list as null', async () => {
    const e = env()
    await loginLupa(e)
    for (const [i, expiration] of ['not a date', '+275760-09-14T00:00:00Z', '2027-02-31T25:61:00Z'].entries()) {
      lupa.keys.set(`k-${i}`, {
        id: `k-${i}`,
        org: 'acme',
        project: 'shop',
        description: 'odd',
        access: 'read',
        restrictIndexScope: false,
        indexIds: [],
        expiration,
        key: `key-${i}-0123456789`,
      })
    }
    try {
      const j = await ok(['keys', 'list', 'lupasearch', '--json'], e)
      expect(
        JSON.parse(j.stdout)
          .filter((k: { id: string }) => k.id.startsWith('k-'))
          .map((k: { expires_at: unknown }) => k.expires_at),
      ).toEqual([null, null, null])
      await ok(['keys', 'list', 'lupasearch'], e)
    } finally {
      for (const i of [0, 1, 2]) lupa.keys.delete(`k-${i}`)
    }
  })
})

describe('Trust rule: path segments are validated', () => {
  let e: NodeJS.ProcessEnv
  beforeAll(async () => {
    e = env()
    await loginLupa(e)
    await ok(['login', 'haut', '--email', HAUT.email, '--password-stdin'], e, HAUT.password)
  })

  // Four kinds end to end; test/unit/core/trust.test.ts checks every refused and accepted form
  // against checkSegment, which every key id, org, project and company id goes through.
  it.each(['..', 'a/b', 'a%2Fb', 'a\x01b'])('keys revoke with id %j is exit 2 before any request', async (id) => {
    for (const [emu, p] of [
      [lupa, 'lupasearch'],
      [haut, 'haut'],
    ] as const) {
      const before = emu.requests.length
      const r = await runCli(['keys', 'revoke', p, id, '--yes'], { env: e })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain('key id')
      expect(emu.requests.length).toBe(before)
    }
  })

  it('org and project slugs (flags and login defaults) and company ids are checked before any request', async () => {
    const before = lupa.requests.length + haut.requests.length
    for (const argv of [
      ['keys', 'list', 'lupasearch', '--project', '..'],
      ['keys', 'list', 'lupasearch', '--org', 'acme/x'],
      ['keys', 'create', 'lupasearch', '--project', '%2e%2e', '--description', 'x'],
      ['keys', 'revoke', 'lupasearch', 'k1', '--org', '.', '--yes'],
    ]) {
      const r = await runCli(argv, { env: e })
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2)
    }
    const login = await runCli(['--profile', 'x', 'login', 'lupasearch', '--email', LUPA.email, '--password-stdin', '--project', 'a b'], {
      env: e,
      input: LUPA.password,
    })
    expect(login.code).toBe(2)
    const token = await runCli(['--profile', 'x', 'login', 'haut', '--token-stdin', '--company-id', '../other'], { env: e, input: 'hpt_0123456789abcdef' })
    expect(token.code).toBe(2)
    expect(lupa.requests.length + haut.requests.length).toBe(before)
  })
})

describe('Trust rule: the config dir is ours', () => {
  const root = process.getuid?.() === 0
  it.skipIf(!root)('a config dir owned by another user is exit 2 naming it, for commands that read or write it', async () => {
    const e = env({ AUTHCTL_STORE: undefined, LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: LW_SECRET })
    const dir = e.AUTHCTL_CONFIG_DIR as string
    mkdirSync(dir, { mode: 0o700 })
    chownSync(dir, 65534, 65534)
    const before = lw.tokenRequests()
    for (const argv of [
      ['status'],
      ['token', 'lucidworks'],
      ['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'],
      ['exec', '--', 'true'],
    ]) {
      const r = await runCli(argv, { env: e, input: LW_SECRET })
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toContain(dir)
      expect(r.stderr).toContain('another user')
    }
    expect(lw.tokenRequests()).toBe(before)
  })

  it('a group/other-writable config dir is tightened to 0700 with one warning, also by a cached `token`', async () => {
    const e = env()
    await loginLw(e)
    const dir = e.AUTHCTL_CONFIG_DIR as string
    chmodSync(dir, 0o777)
    const r = await ok(['token', 'lucidworks'], e) // served from the cache: nothing is written
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('tightened to 0700')
    expect((await ok(['token', 'lucidworks'], e)).stderr).toBe('')
  })
})

describe('Trust rule: locks cannot wedge authctl', () => {
  it('a renewal lock dated more than 60 s in the future is stale, even with a live holder', async () => {
    const e = env()
    await loginLw(e)
    const lockDir = join(e.AUTHCTL_CONFIG_DIR as string, 'locks')
    mkdirSync(lockDir, { recursive: true })
    const lock = join(lockDir, `lucidworks-default-${slotId('machinelearning.predict')}.lock`)
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'from-the-future' }))
    const future = new Date(Date.now() + 86_400_000)
    utimesSync(lock, future, future)
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: e, timeoutMs: 20_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.ms).toBeLessThan(10_000)
  })

  it('a lock left by a dead process is taken over at once', async () => {
    const e = env()
    await loginLw(e)
    const lockDir = join(e.AUTHCTL_CONFIG_DIR as string, 'locks')
    mkdirSync(lockDir, { recursive: true })
    const dead = spawn('true')
    await new Promise((r) => dead.on('exit', r))
    writeFileSync(
      join(lockDir, `lucidworks-default-${slotId('machinelearning.predict')}.lock`),
      JSON.stringify({ pid: dead.pid, host: hostname(), nonce: 'dead' }),
    )
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: e, timeoutMs: 20_000 })
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(10_000)
  })
})

describe('Trust rule: writing to a closed pipe ends quietly', () => {
  /** The CLI with its stdout a pipe whose reader is already gone. */
  function closedStdout(args: string[], e: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] })
      child.stdout.destroy()
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.on('close', (code) => resolve({ code, stderr }))
    })
  }

  it('`authctl --help` (and other output) into a closed pipe: no stack trace, exit 0', async () => {
    const e = env()
    for (const args of [['--help'], ['--version'], ['login', '--help'], ['completion', 'bash']]) {
      const r = await closedStdout(args, e)
      expect(r.stderr, args.join(' ')).toBe('')
      expect(r.code, args.join(' ')).toBe(0)
    }
  })

  it('`authctl --help | head -1` never prints a stack trace', async () => {
    const runs = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<{ stdout: string; stderr: string }>((resolve) => {
            const sh = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" --help | head -1`], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
            let stdout = ''
            let stderr = ''
            sh.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
            sh.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
            sh.on('close', () => resolve({ stdout, stderr }))
          }),
      ),
    )
    for (const r of runs) {
      expect(r.stdout.split('\n')).toHaveLength(2)
      expect(r.stderr).toBe('')
    }
  })
})

describe('Trust rule: URLs in messages never show userinfo or secret-looking query parameters', () => {
  const SECRETS = ['hunter2', 'pw-value', 'tok-value', 'sec-value', 'key-value', 'code-value']
  it.each([
    ['an unparsable URL', 'http://admin:hunter2@[bad-host/v1?token=tok-value'],
    [
      'a plain-http URL',
      'http://admin:hunter2@api.example.com/v1?password=pw-value&token=tok-value&client_secret=sec-value&api_key=key-value&code=code-value&scope=keep-me',
    ],
    ['another scheme', 'ftp://admin:hunter2@api.example.com/?secret=sec-value'],
  ])('%s in an endpoint override is exit 2, redacted', async (_n, url) => {
    const e = env({ AUTHCTL_LUPASEARCH_API_URL: url })
    const r = await runCli(['login', 'lupasearch', '--email', LUPA.email, '--password-stdin'], { env: e, input: LUPA.password })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('AUTHCTL_LUPASEARCH_API_URL')
    for (const s of SECRETS) expect(r.stderr).not.toContain(s)
    if (url.includes('scope=')) expect(r.stderr).toContain('scope=keep-me')
  })

  it('a proxy URL without a scheme is exit 2 with the fix, its password redacted', async () => {
    const e = env({
      AUTHCTL_STORE: undefined,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: LW_SECRET,
      AUTHCTL_LUCIDWORKS_TOKEN_URL: 'https://identity.example.com/oauth2/x/v1/token',
      HTTPS_PROXY: 'proxyuser:hunter2@proxy.example.com:3128',
    })
    const r = await runCli(['token', 'lucidworks'], { env: e })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('HTTPS_PROXY')
    expect(r.stderr).toContain('http://')
    expect(r.stderr).not.toContain('hunter2')
  })
})

/** Runs `login lucid --no-browser`, plays the browser from the printed URL, returns the result. */
async function browserLogin(e: NodeJS.ProcessEnv, port: number, browser: (url: string) => Promise<Response>, timeoutMs = 20_000) {
  const child = spawn(
    process.execPath,
    [BIN, 'login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--no-browser', '--port', String(port)],
    { env: e, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  child.stdin.end(`${LUCID_SECRET}\n`)
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  let stderr = ''
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)))
  const url = await new Promise<string | undefined>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      const m = /(http:\/\/127\.0\.0\.1:\d+\/oauth2\/authorize\?\S+)/.exec(stderr)
      if (m) resolve(m[1] as string)
    })
    void exited.then(() => resolve(undefined))
  })
  const page = url ? await browser(url).catch(() => undefined) : undefined
  const code = await exited
  clearTimeout(timer)
  return { code, stderr, url, page }
}

describe('Lucid OAuth', () => {
  it('uses PKCE: S256 challenge on the authorize URL, the matching code_verifier on the token request', async () => {
    lucid.requirePkce = true
    try {
      const r = await browserLogin(env(), await freePort(), (url) => fetch(url))
      expect(r.code, r.stderr).toBe(0)
      const q = new URL(r.url as string).searchParams
      expect(q.get('code_challenge_method')).toBe('S256')
      const exchange = lucid.requests.filter((x) => x.path === '/oauth2/token' && x.body.includes('authorization_code')).at(-1)
      const verifier = JSON.parse(exchange?.body ?? '{}').code_verifier as string
      expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/)
      expect(createHash('sha256').update(verifier).digest('base64url')).toBe(q.get('code_challenge'))
    } finally {
      lucid.requirePkce = false
    }
  })

  it.each(['::1', '127.0.0.1'])('the callback listener refuses (exit 2, naming the port) when %s:PORT is taken', async (host) => {
    const port = await freePort()
    const squatter: Server = createServer(() => {})
    await new Promise<void>((r) => squatter.listen(port, host, r))
    try {
      const before = lucid.requests.length
      const r = await browserLogin(env(), port, (url) => fetch(url, { signal: AbortSignal.timeout(5000) }))
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(String(port))
      expect(r.url).toBeUndefined() // the authorize URL was never offered
      expect(lucid.requests.length).toBe(before)
    } finally {
      squatter.close()
    }
  })

  it('--manual --client-secret-stdin ends when login does, not when stdin does (a writer may keep the pipe open)', async () => {
    const child = spawn(process.execPath, [BIN, 'login', 'lucid', '--client-id', 'lucid-client', '--manual', '--client-secret-stdin'], {
      env: env(),
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    child.stdin.write(`${LUCID_SECRET}\nnot-a-code-from-this-run\n`) // …and the pipe stays open
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(-1), 8000)
      child.on('close', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    child.stdin.end()
    child.kill('SIGKILL')
    expect(code).toBe(4) // the code is refused; the process did not wait for EOF (-1: still running after 8 s)
  })

  // The person opens the printed URL, approves, and copies the code from the page it lands on:
  // the code exists only after the URL is printed, so stdin stays open until then.
  it.each([
    ['the secret from LUCID_CLIENT_SECRET', false],
    ['the secret on the first line of stdin', true],
  ])('--manual uses the redirect page on the origin of AUTHCTL_LUCID_AUTHORIZE_URL (%s)', async (_name, secretOnStdin) => {
    const e = env(secretOnStdin ? {} : { LUCID_CLIENT_SECRET: LUCID_SECRET })
    const args = ['login', 'lucid', '--client-id', 'lucid-client', '--manual', ...(secretOnStdin ? ['--client-secret-stdin'] : [])]
    const child = spawn(process.execPath, [BIN, ...args], { env: e, stdio: ['pipe', 'pipe', 'pipe'] })
    if (secretOnStdin) child.stdin.write(`${LUCID_SECRET}\n`)
    let stderr = ''
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 15 s while stdin is open: ${stderr}`)), 15_000)
      child.stderr.on('data', (d: Buffer) => {
        stderr += d
        const m = /(http:\/\/127\.0\.0\.1:\d+\/oauth2\/authorize\?\S+)/.exec(stderr)
        if (m) {
          clearTimeout(timer)
          resolve(m[1] as string)
        }
      })
      child.on('close', () => reject(new Error(stderr)))
    }).catch((err) => {
      child.kill('SIGKILL')
      throw err
    })
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(`${lucid.url}/oauth2/clients/lucid-client/redirect`)
    const page = await (await fetch(url)).text()
    const code = /code into authctl: (\S+)/.exec(page)?.[1]
    child.stdin.end(`${code}\n`)
    const exit = await new Promise<number | null>((r) => child.on('close', r))
    expect(exit, stderr).toBe(0)
  })
})
