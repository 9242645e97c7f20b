import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigStore } from '../../../src/kernel/config.js'
import { AuthRequiredError, InvalidGrantError } from '../../../src/kernel/errors.js'
import { Credentials } from '../../../src/tokens/credentials.js'
import { SHARED_WAIT_MS, sharedWaitMs, TokenService, type TokenServiceDeps } from '../../../src/tokens/service.js'
import { openEntry, sealEntry, sharedSlot, type SharedCache } from '../../../src/tokens/shared-cache.js'
import { TokenCache } from '../../../src/tokens/token-cache.js'
import { fakeProvider } from '../../helpers/fake-provider.js'
import type { Credential, Provider, ProviderContext } from '../../../src/providers/types.js'
import { createMemoryStore } from '../../../src/store/memory.js'
import { tempDir } from '../../helpers/tmp.js'

/** A rotating-refresh provider: only the newest refresh token works; each use rotates it. */
function rotatingProvider(state: { live: string; issued: number; calls: string[] }): Provider {
  return fakeProvider('oauth', (cred: Credential) => ({
    kind: 'renewable',
    slot: 'oauth',
    async renew() {
      state.calls.push(cred.secret.refreshToken as string)
      if (cred.secret.refreshToken !== state.live) throw new InvalidGrantError('refresh token refused')
      state.issued++
      state.live = `r${state.issued + 1}`
      return { token: { accessToken: `a${state.issued}`, expiresAt: Date.now() + 3600_000 }, secretUpdate: { refreshToken: state.live } }
    },
  }))
}

async function setup(store = createMemoryStore()) {
  const dir = tempDir('ts-')
  const config = new ConfigStore(dir)
  await config.put({ provider: 'fake', profile: 'default', kind: 'oauth', store: 'memory', data: {}, createdAt: '', updatedAt: '' })
  const creds = new Credentials({ config, openStore: async () => store, env: {} })
  const svc = new TokenService({
    credentials: creds,
    cache: new TokenCache(dir),
    lockDir: join(dir, 'locks'),
    clock: { now: () => Date.now() },
    providerContext: () => ({}) as ProviderContext,
    debug: () => {},
    warn: () => {},
  })
  const ref = { provider: 'fake', profile: 'default' }
  return { svc, store, ref, creds }
}

describe('TokenService with rotating refresh tokens', () => {
  it('stores the rotated refresh token before returning the access token', async () => {
    const { svc, store, ref, creds } = await setup()
    const state = { live: 'r1', issued: 0, calls: [] as string[] }
    const p = rotatingProvider(state)
    await creds.storeSecret(ref, 'memory', { refreshToken: 'r1' })
    const tok = await svc.getToken(p, ref, await creds.resolve(p, ref), { minTtlMs: 0, forceRefresh: true })
    expect(tok.accessToken).toBe('a1')
    expect(JSON.parse(store.items.get('fake:default')!).refreshToken).toBe('r2')
  })

  it('on invalid_grant, re-reads the store and adopts the token another process just obtained', async () => {
    const { svc, store, ref, creds } = await setup()
    const state = { live: 'r1', issued: 0, calls: [] as string[] }
    const p = rotatingProvider(state)
    await creds.storeSecret(ref, 'memory', { refreshToken: 'r1' })
    const stale = await creds.resolve(p, ref) // this process read r1 …
    await svc.getToken(p, ref, await creds.resolve(p, ref), { minTtlMs: 0, forceRefresh: true }) // … another rotated r1 → r2
    const tok = await svc.getToken(p, ref, stale, { minTtlMs: 0, forceRefresh: true })
    expect(state.calls).toEqual(['r1', 'r1'])
    expect(tok.accessToken).toBe('a1')
    expect(JSON.parse(store.items.get('fake:default')!).refreshToken).toBe('r2')
  })

  it('on invalid_grant with no shared cache (another machine rotated), retries once with the newer grant', async () => {
    const a = await setup()
    const b = await setup(a.store) // same secret store, separate config dir and cache
    const state = { live: 'r1', issued: 0, calls: [] as string[] }
    const p = rotatingProvider(state)
    await a.creds.storeSecret(a.ref, 'memory', { refreshToken: 'r1' })
    const stale = await a.creds.resolve(p, a.ref)
    await b.svc.getToken(p, b.ref, await b.creds.resolve(p, b.ref), { minTtlMs: 0, forceRefresh: true })
    const tok = await a.svc.getToken(p, a.ref, stale, { minTtlMs: 0, forceRefresh: true })
    expect(state.calls).toEqual(['r1', 'r1', 'r2'])
    expect(tok.accessToken).toBe('a2')
    expect(JSON.parse(a.store.items.get('fake:default')!).refreshToken).toBe('r3')
  })

  it('when the store holds the same refused grant, the login is dead: exit 4, and nothing is deleted', async () => {
    const { svc, store, ref, creds } = await setup()
    const p = rotatingProvider({ live: 'somebody-else', issued: 0, calls: [] })
    await creds.storeSecret(ref, 'memory', { refreshToken: 'r1' })
    const err = await svc.getToken(p, ref, await creds.resolve(p, ref), { minTtlMs: 0, forceRefresh: true }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthRequiredError)
    expect((err as AuthRequiredError).exitCode).toBe(4)
    expect(JSON.parse(store.items.get('fake:default')!).refreshToken).toBe('r1')
  })

  it('an authentic shared entry with a newer generation but a dead grant: the previous refresh token is kept and used', async () => {
    const { svc, store, ref, creds } = await setup()
    const fleetKey = Buffer.from('q0V8m3Zr5yKcX1tN7bWfLh2sJd9pGe4uAo6iRzTnYvE=')
    const items = new Map<string, string>()
    const shared: SharedCache = {
      display: 'memory',
      get: async (k) => items.get(k) ?? null,
      set: async (k, v) => void items.set(k, v),
      tryLock: async () => true,
      breakBogusLock: async () => false,
      extend: async () => true,
      unlock: async () => {},
      ping: async () => {},
      close: async () => {},
    }
    const withShared = new TokenService({ ...(svc as unknown as { d: TokenServiceDeps }).d, shared: async () => shared, fleetKey: () => fleetKey })
    const state = { live: 'r3', issued: 2, calls: [] as string[] }
    const p = rotatingProvider(state)
    await creds.storeSecret(ref, 'memory', { refreshToken: 'r3' }) // working, held since before the fleet cache
    const cred = await creds.resolve(p, ref)
    const s = sharedSlot(fleetKey, cred, 'fake', 'oauth')
    items.set(s.name, sealEntry(s, { gen: 10, token: { accessToken: 'old', expiresAt: Date.now() - 1 }, grant: { refreshToken: 'r2' } }))
    const tok = await withShared.getToken(p, ref, cred, { minTtlMs: 0 })
    expect(state.calls).toEqual(['r2', 'r3'])
    expect(tok.accessToken).toBe('a3')
    const stored = JSON.parse(store.items.get('fake:default')!)
    expect(stored.refreshToken).toBe('r4')
    expect(stored.refreshTokenPrev).toBeUndefined() // the grant worked: the previous one is dropped
    expect(openEntry(s, items.get(s.name)!)?.grant).toEqual({ refreshToken: 'r4' })
  })
})

describe("the wait for another runner's renewal (AUTHCTL_SHARED_WAIT_MS)", () => {
  it('is 30 s by default (CONTRACT: no runner waits more than 30 s); the knob only shortens it, to 100 ms at least', () => {
    expect(SHARED_WAIT_MS).toBe(30_000)
    expect(sharedWaitMs({})).toBe(30_000)
    expect(sharedWaitMs({ AUTHCTL_SHARED_WAIT_MS: '' })).toBe(30_000)
    expect(sharedWaitMs({ AUTHCTL_SHARED_WAIT_MS: 'soon' })).toBe(30_000)
    expect(sharedWaitMs({ AUTHCTL_SHARED_WAIT_MS: '2000' })).toBe(2000)
    expect(sharedWaitMs({ AUTHCTL_SHARED_WAIT_MS: '5' })).toBe(100)
    expect(sharedWaitMs({ AUTHCTL_SHARED_WAIT_MS: '600000' })).toBe(30_000)
  })
})
