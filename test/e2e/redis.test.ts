import { spawn } from 'node:child_process'
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLucid } from '../emulators/lucid.js'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { SHARED_LOCK_TTL_MS } from '../../src/tokens/service.js'
import { baseEnv, BIN, runCli } from '../helpers/cli.js'
import { hasRedisServer, startRedis } from '../helpers/redis.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { lucidManualCode } from '../helpers/lucid.js'
import { tempDir } from '../helpers/tmp.js'

const SECRET = 'lw-secret-0123456789'
/** The fleet key every runner of the fleet shares (openssl rand -base64 32). */
const FLEET_KEY = 'q0V8m3Zr5yKcX1tN7bWfLh2sJd9pGe4uAo6iRzTnYvE='
if (!hasRedisServer()) {
  const msg = '\n*** SKIPPING the shared-cache tests: redis-server not installed (apt-get install redis-server) ***\n'
  if (process.env.CI) throw new Error(msg)
  process.stderr.write(msg)
}

describe.skipIf(!hasRedisServer())('runner fleets: the token cache on a real Redis', () => {
  let lw: LucidworksEmulator
  beforeAll(async () => {
    lw = await startLucidworks()
  })
  afterAll(() => lw.close())

  /** A "machine": its own config dir, the shared Redis, env credentials as in CI. */
  const machine = (redisUrl: string | undefined, extra: NodeJS.ProcessEnv = {}) =>
    baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('runner-'),
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: SECRET,
      CI: 'true',
      ...(redisUrl ? { AUTHCTL_CACHE: redisUrl, AUTHCTL_CACHE_KEY: FLEET_KEY } : {}),
      ...extra,
    })

  it('3 machines x 8 processes with a cold cache: one token request, one token for all 24, still valid; Redis holds no usable token', async () => {
    const redis = await startRedis()
    try {
      const machines = [0, 1, 2].map(() => machine(redis.url))
      const before = lw.tokenRequests()
      lw.faults.push({ path: '/v1/token', delayMs: 300, passThrough: true }) // the renewal takes a moment: everyone piles up
      // 24 processes at once on a shared 2-core machine: a generous per-process timeout.
      const runs = await Promise.all(machines.flatMap((env) => Array.from({ length: 8 }, () => runCli(['token', 'lucidworks'], { env, timeoutMs: 120_000 }))))
      for (const r of runs) expect(r.code, r.stderr).toBe(0)
      expect(lw.tokenRequests() - before).toBe(1)
      const tokens = new Set(runs.map((r) => r.stdout.trim()))
      expect(tokens.size).toBe(1)
      const token = [...tokens][0] as string
      expect(lw.isValid(token)).toBe(true)
      const keys = await redis.client.keys('*')
      expect(keys.length).toBeGreaterThan(0)
      for (const k of keys) {
        expect(k).toMatch(/^authctl:v2:(token|lock):[0-9a-f]{32}$/)
        expect(await redis.client.get(k)).not.toContain(token.slice(20, 60))
        const ttl = await redis.client.pttl(k)
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(3600_000)
      }
      // status and doctor say the shared cache is in use
      const st = JSON.parse((await runCli(['status', '--json'], { env: machines[0]! })).stdout)
      expect(st.shared_cache).toEqual({ url: redis.url, reachable: true })
      const doc = JSON.parse((await runCli(['doctor', '--json'], { env: { ...machines[0]!, AUTHCTL_STORE: 'file', AUTHCTL_PASSPHRASE: 'x' } })).stdout)
      expect(doc.checks.find((c: { name: string }) => c.name === 'shared cache')?.status).toBe('pass')
    } finally {
      await redis.stop()
    }
  }, 150_000)

  it('different credentials never share entries', async () => {
    const redis = await startRedis()
    lw.clients.set('other-client', 'other-secret-0123')
    try {
      const a = await runCli(['token', 'lucidworks'], { env: machine(redis.url) })
      const b = await runCli(['token', 'lucidworks'], {
        env: machine(redis.url, { LUCIDWORKS_CLIENT_ID: 'other-client', LUCIDWORKS_CLIENT_SECRET: 'other-secret-0123' }),
      })
      expect(a.code).toBe(0)
      expect(b.code).toBe(0)
      expect(a.stdout).not.toBe(b.stdout)
      expect((await redis.client.keys('authctl:v2:token:*')).length).toBe(2)
    } finally {
      lw.clients.delete('other-client')
      await redis.stop()
    }
  })

  it('Redis killed in the middle: runners warn once, fall back to the local cache and lock, and succeed', async () => {
    const redis = await startRedis()
    const machines = [0, 1, 2].map(() => machine(redis.url))
    lw.faults.push({ path: '/v1/token', delayMs: 800, passThrough: true })
    const pending = Promise.all(machines.flatMap((env) => Array.from({ length: 4 }, () => runCli(['token', 'lucidworks', '--force-refresh'], { env }))))
    await new Promise((r) => setTimeout(r, 400))
    redis.kill('SIGKILL')
    const runs = await pending
    await redis.stop()
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:')).length).toBeLessThanOrEqual(1)
      expect(r.ms).toBeLessThan(25_000) // never hangs (generous: 12 processes on a loaded 2-core machine)
    }
    expect(runs.some((r) => /warning: shared cache .* using the local cache and lock/.test(r.stderr))).toBe(true)
  })

  it('a lock holder killed with kill -9: the lock expires and the next runner renews', async () => {
    const redis = await startRedis()
    try {
      lw.faults.push({ path: '/v1/token', delayMs: 30_000 })
      const holder = spawn(process.execPath, [BIN, 'token', 'lucidworks'], { env: machine(redis.url), stdio: 'ignore' })
      const until = Date.now() + 10_000
      while (((await redis.client.keys('authctl:v2:lock:*')).length === 0 || lw.faults.length > 0) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50))
      expect(lw.faults.length).toBe(0) // the holder's renewal request is in flight
      expect((await redis.client.keys('authctl:v2:lock:*')).length).toBe(1)
      holder.kill('SIGKILL')
      await new Promise((r) => holder.on('exit', r))
      const before = lw.tokenRequests()
      const r = await runCli(['token', 'lucidworks'], { env: machine(redis.url) as NodeJS.ProcessEnv, timeoutMs: 30_000 })
      expect(r.code, r.stderr).toBe(0)
      expect(lw.tokenRequests() - before).toBe(1)
      expect(lw.isValid(r.stdout.trim())).toBe(true)
      expect(r.ms).toBeLessThan(SHARED_LOCK_TTL_MS + 5_000) // the lock TTL of waiting, plus start-up on a loaded machine
    } finally {
      await redis.stop()
    }
  }, 40_000)

  it('a wrong Redis password: a clear warning (no password in it), then the local path', async () => {
    const redis = await startRedis({ password: 'right-redis-pass' })
    try {
      const url = `redis://:wrong-redis-pass@127.0.0.1:${redis.port}/0`
      const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: machine(url) })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/^warning: shared cache redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: connect failed \(.*\); using the local cache and lock\n$/)
      expect(r.stderr).not.toContain('wrong-redis-pass')
      expect(lw.isValid(r.stdout.trim())).toBe(true)
      // No password at all: PING is refused (NOAUTH); the CLI still ends at once.
      const none = await runCli(['token', 'lucidworks'], { env: machine(`redis://127.0.0.1:${redis.port}/0`), timeoutMs: 10_000 })
      expect(none.signal, 'killed by the test timeout: the CLI waited on the open connection').toBeNull()
      expect(none.code, none.stderr).toBe(0)
      expect(none.stderr).toMatch(/connect failed \(NOAUTH/)
      expect(none.ms).toBeLessThan(8000)
    } finally {
      await redis.stop()
    }
  })

  it('unreachable Redis never hangs', async () => {
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: machine('redis://127.0.0.1:9/0') })
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(5000)
    expect(r.stderr).toContain('using the local cache and lock')
  })

  it('the shared cache loads no Redis library: a fleet token costs what a local one does (ioredis took 180 ms of CPU to load)', async () => {
    const redis = await startRedis({ password: 'fleet-redis-password' })
    try {
      const env = machine(redis.url)
      const out = join(env.AUTHCTL_CONFIG_DIR as string, 'modules.json')
      const preload = join(__dirname, '..', 'fixtures', 'record-modules.cjs')
      const r = await runCli(['token', 'lucidworks', '--force-refresh'], {
        env: { ...env, NODE_OPTIONS: `--require ${preload}`, AUTHCTL_TEST_MODULES_OUT: out },
      })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('') // Redis was used (a failure would warn)
      expect((await redis.client.keys('authctl:v2:token:*')).length).toBe(1)
      const loaded: string[] = JSON.parse(readFileSync(out, 'utf8'))
      expect(loaded.some((m) => m.includes('undici'))).toBe(true)
      expect(loaded.filter((m) => /[\\/]node_modules[\\/]/.test(m))).toEqual([])
      expect(loaded.filter((m) => /authctl\.cjs/.test(m))).toEqual([]) // the light path, no commander
    } finally {
      await redis.stop()
    }
  })

  it('rediss:// with an ACL user limited to authctl:* keys: the server certificate is checked against the CAs Node trusts', async () => {
    const redis = await startRedis({ tls: true, user: { name: 'fleet', password: 'fleet-user-pass' } })
    try {
      const url = `rediss://fleet:fleet-user-pass@localhost:${redis.port}/0`
      const trusted = machine(url, { NODE_EXTRA_CA_CERTS: redis.ca })
      const a = await runCli(['token', 'lucidworks', '--force-refresh'], { env: trusted })
      expect(a.code, a.stderr).toBe(0)
      expect(a.stderr).toBe('')
      expect((await redis.client.keys('authctl:v2:*')).length).toBeGreaterThan(0)
      // A second machine adopts that token from Redis (no token request).
      const before = lw.tokenRequests()
      const b = await runCli(['token', 'lucidworks'], { env: machine(url, { NODE_EXTRA_CA_CERTS: redis.ca }) })
      expect(b.stdout).toBe(a.stdout)
      expect(lw.tokenRequests()).toBe(before)
      // Without the CA the certificate is not trusted: a warning, then the local path.
      const untrusted = await runCli(['token', 'lucidworks'], { env: machine(url) })
      expect(untrusted.code, untrusted.stderr).toBe(0)
      expect(untrusted.stderr).toMatch(
        /^warning: shared cache rediss:\/\/\*\*\*@localhost:\d+\/0: connect failed \((self[- ]signed|unable to verify).*\); using the local cache and lock\n$/,
      )
      const wrongUser = await runCli(['token', 'lucidworks'], { env: machine(url.replace('fleet-user-pass', 'wrong-pass'), { NODE_EXTRA_CA_CERTS: redis.ca }) })
      expect(wrongUser.stderr).toMatch(/connect failed \(WRONGPASS/)
      for (const r of [a, b, untrusted, wrongUser]) expect(r.stderr).not.toMatch(/fleet-user-pass|wrong-pass/)
    } finally {
      await redis.stop()
    }
  })

  it('a user name without a password is a nopass ACL user; a password sent to a Redis without one is ignored (as ioredis did)', async () => {
    const nopass = await startRedis({ user: { name: 'fleetci' }, defaultUserOff: true })
    const open = await startRedis()
    try {
      for (const [redis, url] of [
        [nopass, `redis://fleetci@127.0.0.1:${nopass.port}/0`],
        [open, `redis://:stale-password@127.0.0.1:${open.port}/0`],
      ] as const) {
        const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: machine(url) })
        expect(r.code, r.stderr).toBe(0)
        expect(r.stderr, url).toBe('') // no "connect failed" warning: Redis was used
        expect((await redis.client.keys('authctl:v2:token:*')).length).toBe(1)
      }
    } finally {
      await nopass.stop()
      await open.stop()
    }
  })

  it('a runner whose config dir cannot be written still gets and shares its token: one request, not one per run', async () => {
    const redis = await startRedis()
    try {
      // root ignores mode bits: a file where the cache directory goes fails the same way.
      const env = machine(redis.url)
      writeFileSync(join(env.AUTHCTL_CONFIG_DIR as string, 'cache'), '')
      const before = lw.tokenRequests()
      const first = await runCli(['token', 'lucidworks'], { env })
      expect(first.code, first.stderr).toBe(0)
      expect(lw.isValid(first.stdout.trim())).toBe(true)
      expect(first.stderr).toMatch(/^warning: .*not kept in the local token cache/m)
      const again = await runCli(['token', 'lucidworks'], { env })
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toBe(first.stdout) // from Redis
      expect(lw.tokenRequests() - before).toBe(1)
    } finally {
      await redis.stop()
    }
  })

  it('a runner that can neither write its config dir nor publish to Redis: the token is printed, and no warning says it was cached', async () => {
    // An ACL user that may take locks and read entries, but not write them.
    const redis = await startRedis({ user: { name: 'reader', keys: ['~authctl:v2:lock:*', '%R~authctl:v2:token:*'] } })
    try {
      const env = machine(`redis://reader@127.0.0.1:${redis.port}/0`)
      writeFileSync(join(env.AUTHCTL_CONFIG_DIR as string, 'cache'), '')
      const r = await runCli(['token', 'lucidworks'], { env })
      expect(r.code, r.stderr).toBe(0)
      expect(lw.isValid(r.stdout.trim())).toBe(true)
      expect(r.stderr).toMatch(/^warning: .*not kept in the local token cache/m)
      expect(r.stderr).toMatch(/^warning: .*NOPERM.*; the new token is not cached anywhere: the next run requests another/m)
      expect(r.stderr).not.toContain('cached locally')
    } finally {
      await redis.stop()
    }
  })

  it('a Lucid grant shared by two machines: the rotated refresh token follows through Redis', async () => {
    const redis = await startRedis()
    const lucid = await startLucid()
    try {
      const a = baseEnv({
        AUTHCTL_CONFIG_DIR: tempDir('runner-a-'),
        AUTHCTL_STORE: 'file',
        AUTHCTL_PASSPHRASE: 'fleet',
        AUTHCTL_LUCID_API_URL: lucid.apiUrl,
        AUTHCTL_LUCID_AUTHORIZE_URL: lucid.authorizeUrl,
        AUTHCTL_CACHE: redis.url,
        AUTHCTL_CACHE_KEY: FLEET_KEY,
      })
      const code = await lucidManualCode(lucid.url, 'lucid-client')
      const login = await issuingStaleTokens(lucid, () =>
        runCli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], { env: a, input: `lucid-secret-0123456789\n${code}\n` }),
      )
      expect(login.code).toBe(0)
      // machine B holds a copy of the same login (same grant)
      const b = { ...a, AUTHCTL_CONFIG_DIR: tempDir('runner-b-') }
      cpSync(a.AUTHCTL_CONFIG_DIR as string, b.AUTHCTL_CONFIG_DIR as string, { recursive: true })
      const ta = await runCli(['token', 'lucid'], { env: a }) // A refreshes: r1 → r2
      expect(ta.code, ta.stderr).toBe(0)
      const tb = await runCli(['token', 'lucid'], { env: b }) // B adopts A's token and r2
      expect(tb.stdout).toBe(ta.stdout)
      const fb = await runCli(['token', 'lucid', '--force-refresh'], { env: b }) // B refreshes with r2 → r3
      expect(fb.code, fb.stderr).toBe(0)
      const fa = await runCli(['token', 'lucid', '--force-refresh'], { env: a }) // A follows r3 from Redis
      expect(fa.code, fa.stderr).toBe(0)
      expect(lucid.isValid(fa.stdout.trim())).toBe(true)
      expect(lucid.refreshRequests()).toBe(3)
    } finally {
      await lucid.close()
      await redis.stop()
    }
  })

  it('AUTHCTL_CACHE that is not a redis URL is exit 2', async () => {
    expect((await runCli(['token', 'lucidworks'], { env: machine('http://127.0.0.1:6379') })).code).toBe(2)
  })
})
