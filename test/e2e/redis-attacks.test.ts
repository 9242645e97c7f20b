import { createHash, hkdfSync, scryptSync } from 'node:crypto'
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openJson, sealJson, type Sealed } from '../../src/kernel/seal.js'
import { startLucid, type LucidEmulator } from '../emulators/lucid.js'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { startLupaSearch } from '../emulators/lupasearch.js'
import { baseEnv, runCli } from '../helpers/cli.js'
import { hasRedisServer, startRedis, type RedisServer } from '../helpers/redis.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { tempDir } from '../helpers/tmp.js'
import { lucidManualCode } from '../helpers/lucid.js'

/**
 * The shared cache as an attacker with read/write access to Redis and public knowledge only
 * sees it (issue 12). Each test writes to Redis directly, as such an attacker would, and then
 * checks that runners neither leak, nor serve, nor store anything the attacker chose.
 */
const FLEET_KEY = 'q0V8m3Zr5yKcX1tN7bWfLh2sJd9pGe4uAo6iRzTnYvE='
const LW_SECRET = 'lw-secret-0123456789'
const LUCID_SECRET = 'lucid-secret-0123456789' // an OAuth app's secret: every user of the app has it

/**
 * What an attacker can compute from public facts and an app's client secret: the key material
 * and names the shared cache used before the fleet key (v1). A cache that still used them is
 * readable and forgeable by anyone who knows them.
 */
function publicDerivation(
  kind: string,
  secret: Array<[string, string]>,
  who: { clientId?: unknown; email?: unknown; userId?: unknown },
  provider: string,
  slot: string,
  password = false,
) {
  const canonical = JSON.stringify(['authctl shared v1', kind, secret, [who.clientId ?? null, who.email ?? null, who.userId ?? null]])
  const material = password ? scryptSync(canonical, 'authctl shared cache v1', 32, { N: 8192, r: 8, p: 1 }) : createHash('sha256').update(canonical).digest()
  const info = `authctl shared token v1\0${provider}\0${slot}`
  const id = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `${info}\0id`, 16)).toString('hex')
  return { material, info, name: `authctl:v1:token:${id}` }
}

async function tokenKeys(redis: RedisServer): Promise<string[]> {
  return (await redis.client.keys('authctl:*')).filter((k) => k.includes(':token:'))
}

if (!hasRedisServer() && process.env.CI) throw new Error('redis-server is required on CI (apt-get install redis-server)')

describe.skipIf(!hasRedisServer())('shared cache attacks: someone with read/write access to Redis', () => {
  let lw: LucidworksEmulator
  beforeAll(async () => {
    lw = await startLucidworks()
  })
  afterAll(() => lw.close())

  const lwMachine = (redisUrl: string, extra: NodeJS.ProcessEnv = {}) =>
    baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('runner-'),
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: LW_SECRET,
      CI: 'true',
      AUTHCTL_CACHE: redisUrl,
      AUTHCTL_CACHE_KEY: FLEET_KEY,
      ...extra,
    })

  /** A Lucid OAuth login (authorization code via the emulator) on a machine of the fleet. */
  async function lucidLogin(lucid: LucidEmulator, redis: RedisServer): Promise<NodeJS.ProcessEnv> {
    const env = baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('victim-'),
      AUTHCTL_STORE: 'file',
      AUTHCTL_PASSPHRASE: 'fleet',
      AUTHCTL_LUCID_API_URL: lucid.apiUrl,
      AUTHCTL_LUCID_AUTHORIZE_URL: lucid.authorizeUrl,
      AUTHCTL_CACHE: redis.url,
      AUTHCTL_CACHE_KEY: FLEET_KEY,
    })
    const code = await lucidManualCode(lucid.url, 'lucid-client')
    const r = await runCli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], { env, input: `${LUCID_SECRET}\n${code}\n` })
    expect(r.code, r.stderr).toBe(0)
    return env
  }

  it("reads and forges a Lucid grant from the app's client secret and public identity: nothing readable, the forgery is ignored", async () => {
    const redis = await startRedis()
    const lucid = await startLucid()
    try {
      lucid.tokenTtlSeconds = 100 // below the default --min-ttl: every `token` goes through the shared cache
      const victim = await lucidLogin(lucid, redis)
      const first = await runCli(['token', 'lucid'], { env: victim })
      expect(first.code, first.stderr).toBe(0)
      // The attacker knows the client id and secret (their own app) and the victim's public identity.
      const who = JSON.parse(readFileSync(join(victim.AUTHCTL_CONFIG_DIR as string, 'config.json'), 'utf8')).profiles['lucid:default'].data
      const pub = publicDerivation('oauth', [['clientSecret', LUCID_SECRET]], who, 'lucid', 'oauth')
      const stolen: string[] = []
      for (const k of new Set([pub.name, ...(await tokenKeys(redis))])) {
        const raw = await redis.client.get(k)
        try {
          const e = JSON.parse(raw ?? 'null') as { t?: Sealed; g?: Sealed }
          const t = e?.t && (openJson(e.t, pub.material, pub.info) as { accessToken?: string } | undefined)
          const g = e?.g && (openJson(e.g, pub.material, `${pub.info}\0grant`) as { refreshToken?: string } | undefined)
          if (t?.accessToken) stolen.push(t.accessToken)
          if (g?.refreshToken) stolen.push(g.refreshToken)
        } catch {
          /* not an entry the attacker can parse */
        }
      }
      expect(stolen).toEqual([])
      // Forge: the attacker's token and refresh token, sealed with everything the attacker knows,
      // at the computed name and over every entry there is.
      const later = Date.now() + 7200_000
      const forged = JSON.stringify({
        t: sealJson({ accessToken: 'attacker-access-token', tokenType: 'Bearer', expiresAt: later, obtainedAt: later }, pub.material, pub.info),
        g: sealJson({ refreshToken: 'attacker-refresh-token' }, pub.material, `${pub.info}\0grant`),
      })
      for (const k of new Set([pub.name, ...(await tokenKeys(redis))])) await redis.client.set(k, forged, 'PX', 3600_000)
      const served = await runCli(['token', 'lucid'], { env: victim })
      expect(served.code, served.stderr).toBe(0)
      expect(served.stdout.trim()).not.toBe('attacker-access-token')
      expect(lucid.isValid(served.stdout.trim())).toBe(true)
      // … and the victim's own grant is still what renews (the attacker's was not stored).
      const again = await runCli(['token', 'lucid', '--force-refresh'], { env: victim })
      expect(again.code, again.stderr).toBe(0)
      expect(lucid.isValid(again.stdout.trim())).toBe(true)
    } finally {
      await lucid.close()
      await redis.stop()
    }
  })

  it('rolls back the shared entry to an older one: a runner holding the newest grant keeps it and keeps renewing', async () => {
    const redis = await startRedis()
    const lucid = await startLucid()
    try {
      const a = await issuingStaleTokens(lucid, () => lucidLogin(lucid, redis))
      const b = { ...a, AUTHCTL_CONFIG_DIR: tempDir('runner-b-') } // a second runner with the same login
      cpSync(a.AUTHCTL_CONFIG_DIR as string, b.AUTHCTL_CONFIG_DIR as string, { recursive: true })
      expect((await runCli(['token', 'lucid'], { env: a })).code).toBe(0) // A rotates r1 → r2: entry E1
      const snapshot = new Map<string, string>()
      for (const k of await tokenKeys(redis)) snapshot.set(k, (await redis.client.get(k)) as string)
      expect(snapshot.size).toBe(1)
      const fb = await runCli(['token', 'lucid', '--force-refresh'], { env: b }) // B follows r2, rotates r2 → r3: E2
      expect(fb.code, fb.stderr).toBe(0)
      for (const [k, v] of snapshot) await redis.client.set(k, v, 'PX', 3600_000) // the attacker writes E1 back
      const b2 = await runCli(['token', 'lucid', '--force-refresh'], { env: b })
      expect(b2.code, b2.stderr).toBe(0)
      expect(lucid.isValid(b2.stdout.trim())).toBe(true)
      const b3 = await runCli(['token', 'lucid'], { env: b })
      expect(b3.stdout).toBe(b2.stdout) // neither the rolled-back token nor its grant
    } finally {
      await lucid.close()
      await redis.stop()
    }
  })

  it('rolls back a Lucidworks token after a forced renewal: a runner that saw the newer one never serves the killed one', async () => {
    const redis = await startRedis()
    try {
      const a = lwMachine(redis.url)
      const b = lwMachine(redis.url)
      const t1 = await runCli(['token', 'lucidworks'], { env: a })
      const snapshot = new Map<string, string>()
      for (const k of await tokenKeys(redis)) snapshot.set(k, (await redis.client.get(k)) as string)
      const t2 = await runCli(['token', 'lucidworks', '--force-refresh'], { env: b }) // kills t1
      expect(lw.isValid(t1.stdout.trim())).toBe(false)
      expect((await runCli(['token', 'lucidworks'], { env: a })).stdout).toBe(t2.stdout) // A has seen t2
      for (const [k, v] of snapshot) await redis.client.set(k, v, 'PX', 3600_000)
      for (const env of [a, b]) {
        const r = await runCli(['token', 'lucidworks'], { env })
        expect(r.stdout).toBe(t2.stdout)
        expect(lw.isValid(r.stdout.trim())).toBe(true)
      }
    } finally {
      await redis.stop()
    }
  })

  it('guesses a password offline from a key name: names are keyed hashes that no word list matches', async () => {
    const redis = await startRedis()
    const lupa = await startLupaSearch()
    try {
      const env = baseEnv({
        AUTHCTL_CONFIG_DIR: tempDir('runner-'),
        AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
        LUPA_EMAIL: 'dev@example.com',
        LUPA_PASSWORD: 'lupa-password-123',
        CI: 'true',
        AUTHCTL_CACHE: redis.url,
        AUTHCTL_CACHE_KEY: FLEET_KEY,
      })
      const r = await runCli(['token', 'lupasearch'], { env })
      expect(r.code, r.stderr).toBe(0)
      const names = new Set(await tokenKeys(redis))
      expect(names.size).toBe(1)
      const words = ['password', '123456', 'letmein', 'lupa-password', 'qwerty', 'dragon', 'lupa-password-123', 'monkey', 'secret', 'welcome']
      const found = words.filter((w) =>
        names.has(publicDerivation('password', [['password', w]], { email: 'dev@example.com' }, 'lupasearch', 'jwt', true).name),
      )
      expect(found).toEqual([])
      // Nor does the entry hold anything readable with the guessed password alone.
      const raw = (await redis.client.get([...names][0] as string)) as string
      expect(raw).not.toContain('lupa-password-123')
    } finally {
      await lupa.close()
      await redis.stop()
    }
  })

  it('stalls the fleet with a lock that never expires (or expires in an hour): ignored, still exactly one renewal, nobody waits', async () => {
    const redis = await startRedis()
    try {
      const machines = [0, 1, 2].map(() => lwMachine(redis.url))
      // 6 s tokens: the --min-ttl clamp (half the lifetime) makes each one stale after 3 s, so
      // every round, started 3.1 s after the last token, renews exactly once.
      lw.tokenTtlSeconds = 6
      expect((await runCli(['token', 'lucidworks'], { env: machines[0]! })).code).toBe(0)
      for (const bogus of [['no expiry'], ['PX', '3600000']]) {
        await new Promise((r) => setTimeout(r, 3100))
        for (const k of await tokenKeys(redis)) {
          const lock = k.replace(':token:', ':lock:')
          if (bogus.length === 2) await redis.client.set(lock, 'attacker', 'PX', 3600_000)
          else await redis.client.set(lock, 'attacker')
        }
        const before = lw.tokenRequests()
        const runs = await Promise.all(machines.flatMap((env) => Array.from({ length: 3 }, () => runCli(['token', 'lucidworks'], { env, timeoutMs: 60_000 }))))
        for (const r of runs) {
          expect(r.code, `${bogus[0]}: ${r.stderr}`).toBe(0)
          expect(r.ms).toBeLessThan(30_000)
        }
        expect(lw.tokenRequests() - before).toBe(1)
        expect(new Set(runs.map((r) => r.stdout)).size).toBe(1)
      }
    } finally {
      lw.tokenTtlSeconds = 3600
      await redis.stop()
    }
  }, 150_000)

  // The wait is 30 s by default (test/unit/core/token-service.test.ts); AUTHCTL_SHARED_WAIT_MS shortens it here.
  it('holds a plausible lock forever (re-set every second): a runner gives up after its wait with exit 6 instead of renewing on its own', async () => {
    const redis = await startRedis()
    try {
      const env = lwMachine(redis.url, { AUTHCTL_SHARED_WAIT_MS: '3000' })
      // 6 s tokens: stale after 3 s (the --min-ttl clamp), and long enough to reach Redis on a loaded machine.
      lw.tokenTtlSeconds = 6
      expect((await runCli(['token', 'lucidworks'], { env })).code).toBe(0)
      const stale = Date.now() + 3100
      const locks = (await tokenKeys(redis)).map((k) => k.replace(':token:', ':lock:'))
      expect(locks).toHaveLength(1)
      const hold = async () => {
        for (const l of locks) await redis.client.set(l, 'attacker', 'PX', 5000)
      }
      await hold()
      const timer = setInterval(() => void hold().catch(() => undefined), 1000)
      await new Promise((r) => setTimeout(r, stale - Date.now()))
      const before = lw.tokenRequests()
      try {
        const r = await runCli(['token', 'lucidworks'], { env, timeoutMs: 60_000 })
        expect(r.code, r.stderr).toBe(6)
        expect(r.stderr).toMatch(/timed out after 3 s waiting for another runner's renewal/)
        expect(r.ms).toBeGreaterThanOrEqual(3000)
        expect(r.ms).toBeLessThan(13_000) // 3 s of waiting, plus start-up on a loaded machine
        expect(lw.tokenRequests()).toBe(before) // no renewal behind the fleet's back
      } finally {
        clearInterval(timer)
      }
    } finally {
      lw.tokenTtlSeconds = 3600
      await redis.stop()
    }
  }, 90_000)

  it('a fresh local copy is not served when Redis holds a newer token (another machine force-refreshed)', async () => {
    const redis = await startRedis()
    try {
      const a = lwMachine(redis.url)
      const b = lwMachine(redis.url)
      const t1 = await runCli(['token', 'lucidworks'], { env: a })
      const t2 = await runCli(['token', 'lucidworks', '--force-refresh'], { env: b })
      expect(t2.stdout).not.toBe(t1.stdout)
      const before = lw.tokenRequests()
      const again = await runCli(['token', 'lucidworks'], { env: a })
      expect(again.stdout).toBe(t2.stdout)
      expect(lw.isValid(again.stdout.trim())).toBe(true)
      expect(lw.tokenRequests()).toBe(before)
    } finally {
      await redis.stop()
    }
  })

  it('a Redis password given as ?password= is redacted in status --json and in warnings', async () => {
    const redis = await startRedis({ password: 'right-redis-pass' })
    try {
      const good = `redis://127.0.0.1:${redis.port}/0?password=right-redis-pass`
      const st = await runCli(['status', '--json'], { env: lwMachine(good) })
      expect(st.code, st.stderr).toBe(0)
      expect(JSON.parse(st.stdout).shared_cache.reachable).toBe(true)
      expect(st.stdout + st.stderr).not.toContain('right-redis-pass')
      const bad = `redis://127.0.0.1:${redis.port}/0?password=wrong-redis-pass`
      for (const args of [
        ['token', 'lucidworks', '--force-refresh'],
        ['status', '--json'],
        ['doctor', '--json'],
      ]) {
        const r = await runCli(args, { env: lwMachine(bad, { AUTHCTL_STORE: 'file', AUTHCTL_PASSPHRASE: 'x' }) })
        expect(r.stdout + r.stderr).not.toContain('wrong-redis-pass')
      }
      const warned = await runCli(['token', 'lucidworks', '--force-refresh'], { env: lwMachine(bad) })
      expect(warned.stderr).toMatch(/warning: shared cache redis:\/\/127\.0\.0\.1:\d+\/0\?password=\*\*\*:? connect failed/)
    } finally {
      await redis.stop()
    }
  })

  it('AUTHCTL_CACHE without a fleet key of 32+ bytes is exit 2 before any request; the key is never printed', async () => {
    const redis = await startRedis()
    try {
      const before = lw.tokenRequests()
      for (const key of [undefined, 'too-short-key-0123456789']) {
        const env = lwMachine(redis.url)
        if (key === undefined) delete env.AUTHCTL_CACHE_KEY
        else env.AUTHCTL_CACHE_KEY = key
        const r = await runCli(['token', 'lucidworks'], { env })
        expect(r.code).toBe(2)
        expect(r.stderr).toContain('openssl rand -base64 32')
        expect(r.stderr).toContain('AUTHCTL_CACHE_KEY')
        if (key) expect(r.stderr).not.toContain(key)
      }
      expect(lw.tokenRequests()).toBe(before)
      expect(await redis.client.keys('*')).toEqual([])
      const env = lwMachine(redis.url)
      const outs = [
        await runCli(['--verbose', 'token', 'lucidworks'], { env }),
        await runCli(['status', '--json'], { env }),
        await runCli(['doctor', '--json'], { env: { ...env, AUTHCTL_STORE: 'file', AUTHCTL_PASSPHRASE: 'x' } }),
      ]
      for (const o of outs) expect(o.stdout + o.stderr).not.toContain(FLEET_KEY)
    } finally {
      await redis.stop()
    }
  })
})
