import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigStore } from '../../../src/kernel/config.js'
import { Credentials } from '../../../src/tokens/credentials.js'
import { TokenService } from '../../../src/tokens/service.js'
import { clampMinTtl, keepFreshLeadMs, maxMinTtlMs, TokenCache } from '../../../src/tokens/token-cache.js'
import type { Credential, ProviderContext } from '../../../src/providers/types.js'
import { tempDir } from '../../helpers/tmp.js'
import { fakeProvider } from '../../helpers/fake-provider.js'

describe('maxMinTtlMs / clampMinTtl / keepFreshLeadMs', () => {
  it.each([
    [3600_000, 3540_000],
    [120_000, 60_000],
    [119_000, 59_500],
    [90_000, 45_000],
    [20_000, 10_000],
  ])('a %i ms token allows at most %i ms', (life, max) => expect(maxMinTtlMs(life)).toBe(max))

  it('clamps only a minimum at or above the limit, and only when the lifetime is known', () => {
    const t = { accessToken: 'x', obtainedAt: 0, expiresAt: 3600_000 }
    expect(clampMinTtl(3600_000, t)).toEqual({ minTtlMs: 3540_000, clampedFrom: 3600_000, lifetimeMs: 3600_000 })
    expect(clampMinTtl(3539_000, t)).toEqual({ minTtlMs: 3539_000, lifetimeMs: 3600_000 })
    expect(clampMinTtl(9e9, { accessToken: 'x' })).toEqual({ minTtlMs: 9e9 })
    expect(clampMinTtl(9e9, { accessToken: 'x', expiresAt: 5 })).toEqual({ minTtlMs: 9e9 })
  })

  it('renews early by a quarter of the slack, 1–60 s, never more than half of it', () => {
    expect(keepFreshLeadMs(300_000, 3600_000)).toBe(60_000)
    expect(keepFreshLeadMs(3540_000, 3600_000)).toBe(15_000)
    expect(keepFreshLeadMs(10_000, 20_000)).toBe(2_500)
    expect(keepFreshLeadMs(2_000, 4_000)).toBe(1_000)
    expect(keepFreshLeadMs(3_000, 4_000)).toBe(500)
  })
})

/** A client-credentials provider on a fake clock: every issue is a new token of `lifeMs`. */
function setup(lifeMs: number) {
  const dir = tempDir('min-ttl-')
  const clock = {
    t: 1_000_000_000_000,
    now() {
      return this.t
    },
  }
  const warnings: string[] = []
  let issued = 0
  const provider = fakeProvider('client-credentials', () => ({
    kind: 'renewable',
    slot: 'default',
    async renew() {
      issued++
      return { token: { accessToken: `tok${issued}`, obtainedAt: clock.now(), expiresAt: clock.now() + lifeMs } }
    },
  }))
  const credentials = new Credentials({
    config: new ConfigStore(dir),
    openStore: async () => {
      throw new Error('no store')
    },
    env: {},
  })
  const svc = new TokenService({
    credentials,
    cache: new TokenCache(dir),
    lockDir: join(dir, 'locks'),
    clock,
    providerContext: () => ({}) as ProviderContext,
    debug: () => {},
    warn: (l) => warnings.push(l),
  })
  const cred: Credential = { kind: 'client-credentials', source: 'environment', secret: { s: 'x' }, data: {} }
  const get = async (minTtlMs: number, at: number, renewEarly = false) => {
    clock.t = 1_000_000_000_000 + at
    return (await svc.getToken(provider, { provider: 'fake', profile: 'default' }, cred, { minTtlMs, renewEarly })).accessToken
  }
  return { get, warnings, issued: () => issued }
}

describe('TokenService applies the clamp', () => {
  it('--min-ttl 3600 with 1 h tokens: renews once a minute, not on every call, and warns once per process', async () => {
    const s = setup(3600_000)
    expect(await s.get(3600_000, 0)).toBe('tok1')
    expect(await s.get(3600_000, 10_000)).toBe('tok1')
    expect(await s.get(3600_000, 59_000)).toBe('tok1')
    expect(await s.get(3600_000, 61_000)).toBe('tok2')
    expect(s.issued()).toBe(2)
    expect(s.warnings).toEqual(['--min-ttl 3600 s is not below the Fake token lifetime (3600 s) minus 60 s; using 3540 s'])
  })

  it('90 s tokens: the default 300 s becomes 45 s; a 44 s minimum is kept as given', async () => {
    const s = setup(90_000)
    expect(await s.get(300_000, 0)).toBe('tok1')
    expect(await s.get(300_000, 44_000)).toBe('tok1')
    expect(await s.get(300_000, 46_000)).toBe('tok2')
    expect(s.warnings).toEqual([]) // the default is clamped silently
    expect(await s.get(60_000, 46_000)).toBe('tok2')
    expect(s.warnings).toEqual(['--min-ttl 60 s is not below half the Fake token lifetime (90 s); using 45 s'])
    expect(await s.get(44_000, 46_000 + 45_000)).toBe('tok2')
    expect(await s.get(44_000, 46_000 + 47_000)).toBe('tok3')
    expect(s.warnings).toHaveLength(1)
  })

  it('renewEarly (exec --keep-fresh) renews ahead of peers using the same minimum', async () => {
    const s = setup(20_000)
    expect(await s.get(10_000, 0)).toBe('tok1')
    expect(await s.get(10_000, 7_000, true)).toBe('tok1') // 13 s left > 10 + 2.5
    expect(await s.get(10_000, 8_000, true)).toBe('tok2') // 12 s left: renewed early
    expect(await s.get(10_000, 8_000 + 9_900)).toBe('tok2') // a peer at min-ttl 10 s adopts it
  })
})
