import { createHash, randomBytes, scryptSync } from 'node:crypto'
import { join } from 'node:path'
import type { Credential, Provider, ProviderContext, TokenSet } from '../providers/types.js'
import type { SecretStore } from '../store/types.js'
import { accountFor } from '../store/types.js'
import type { Clock } from './clock.js'
import type { ConfigStore, StoreBackend } from './config.js'
import { AuthRequiredError, InvalidGrantError } from './errors.js'
import { withFileLock } from './lock.js'
import type { ProfileRef } from './profile.js'
import { openJson, openToken, sealJson, sealToken, type Sealed } from './seal.js'
import { SharedCacheError, sharedKeyMaterial, sharedKeys, type SharedCache } from './shared-cache.js'
import { clampMinTtl, DEFAULT_MIN_TTL_MS, isFresh, keepFreshLeadMs, slotId, type TokenCache } from './token-cache.js'

/** Thrown in cache-only mode (the fast path) where a renewal would be needed. */
export class CacheMissError extends Error {
  constructor() {
    super('not served from cache')
  }
}

export interface TokenServiceDeps {
  /** The fleet-wide cache (AUTHCTL_CACHE), or undefined; failures fall back to local. */
  shared?: () => Promise<SharedCache | undefined>
  config: ConfigStore
  cache: TokenCache
  /** Directory of the renewal lock files. */
  lockDir: string
  openStore(backend: StoreBackend): Promise<SecretStore>
  env: Readonly<Record<string, string | undefined>>
  clock: Clock
  providerContext(): ProviderContext
  debug(line: string): void
  warn(line: string): void
  /** Serve from the cache or throw CacheMissError; never renew, never take a lock. */
  cacheOnly?: boolean
}

export interface GetTokenOptions {
  scope?: string
  /** Renew when less than this is left; clamped to what the token's lifetime allows (clampMinTtl). */
  minTtlMs: number
  forceRefresh?: boolean
  /** `exec --keep-fresh`: renew a little before `minTtlMs` (keepFreshLeadMs), ahead of peers. */
  renewEarly?: boolean
  /**
   * Called with a newly issued token as soon as it is safe to hand out (after a rotated grant is
   * stored, before the cache write): on Lucidworks the previous token is already dead then.
   */
  onIssued?: (token: TokenSet) => void
}

/** Secret field holding the random key that encrypts a stored login's cached tokens. */
const CACHE_KEY_FIELD = 'cacheKey'

function profileFlag(profile: string): string {
  return profile === 'default' ? '' : ` --profile ${profile}`
}

/**
 * Credential resolution (environment, then the profile's store) and token renewal with the
 * on-disk cache and a cross-process lock per provider/profile/slot (Azure chain + google
 * single-flight, across processes rather than within one).
 */
/** Lifetime of a shared renewal lock; its holder refreshes it, a dead holder's lapses. */
export const SHARED_LOCK_TTL_MS = 10_000
const SHARED_WAIT_MS = 90_000

export class TokenService {
  private sharedDisabled = false
  private readonly clampWarned = new Set<string>()
  constructor(private readonly d: TokenServiceDeps) {}

  /**
   * True when `t` has more than the minimum TTL left. A minimum no fresh token could satisfy is
   * clamped to the token's lifetime (one warning per process), so it never makes every call renew.
   */
  private fresh(provider: Provider, t: TokenSet, opts: GetTokenOptions): boolean {
    const c = clampMinTtl(opts.minTtlMs, t)
    if (c.clampedFrom !== undefined && c.lifetimeMs !== undefined) this.warnClamped(provider, c.clampedFrom, c.lifetimeMs, c.minTtlMs)
    const lead = opts.renewEarly && c.lifetimeMs !== undefined ? keepFreshLeadMs(c.minTtlMs, c.lifetimeMs) : 0
    return isFresh(t, c.minTtlMs + lead, this.d.clock.now())
  }

  private warnClamped(provider: Provider, fromMs: number, lifeMs: number, toMs: number): void {
    const s = (ms: number) => `${Math.round(ms / 1000)} s`
    const key = `${provider.id}\0${fromMs}`
    // The default is adjusted silently; a minimum the user chose gets a warning.
    if (this.clampWarned.has(key) || fromMs === DEFAULT_MIN_TTL_MS) return
    this.clampWarned.add(key)
    const limit = lifeMs < 120_000 ? `half the ${provider.displayName} token lifetime (${s(lifeMs)})` : `the ${provider.displayName} token lifetime (${s(lifeMs)}) minus 60 s`
    this.d.warn(`--min-ttl ${s(fromMs)} is not below ${limit}; using ${s(toMs)}`)
  }

  /**
   * The fleet path: Redis is authoritative (a local copy could be a token another machine's
   * renewal has killed). One runner renews under SET NX PX; the others poll the entry.
   */
  private async getShared(shared: SharedCache, provider: Provider, ref: ProfileRef, cred: Credential, slot: string, material: Buffer, opts: GetTokenOptions): Promise<TokenSet> {
    const sm = sharedKeyMaterial(cred)
    const keys = sharedKeys(sm, provider.id, slot)
    // An entry is the sealed token and, after a rotation, the sealed new grant (Lucid), so that
    // machines sharing one grant keep following it instead of holding a dead refresh token.
    let grant: Record<string, string> | undefined
    const read = async () => {
      const raw = await shared.get(keys.token)
      if (!raw) return undefined
      try {
        const entry = JSON.parse(raw) as { t: Sealed; g?: Sealed }
        const g = entry.g ? (openJson(entry.g, sm, `${keys.info}\0grant`) as Record<string, string> | undefined) : undefined
        grant = g && typeof g === 'object' ? g : undefined
        return openToken(entry.t, sm, keys.info)
      } catch {
        return undefined
      }
    }
    const startedAt = this.d.clock.now()
    const usable = (t: TokenSet | undefined): t is TokenSet =>
      t !== undefined && ((t.obtainedAt ?? 0) >= startedAt || (!opts.forceRefresh && this.fresh(provider, t, opts)))
    let current = cred
    const followGrant = async () => {
      if (grant && current.source !== 'environment' && Object.entries(grant).some(([k, v]) => current.secret[k] !== v)) {
        this.d.debug(`adopted the grant another runner rotated (${provider.id}/${ref.profile})`)
        current = { ...current, secret: await this.storeSecret(ref, current.source, { ...current.secret, ...grant }) }
      }
    }
    const adopt = async (t: TokenSet) => {
      this.d.cache.write(ref, slot, material, t) // the local copy serves the fallback path
      await followGrant()
      return t
    }
    const first = await read()
    if (!opts.forceRefresh && first && this.fresh(provider, first, opts)) return adopt(first)
    const owner = randomBytes(12).toString('hex')
    const deadline = Date.now() + SHARED_WAIT_MS
    for (let announced = false; ; ) {
      if (await shared.tryLock(keys.lock, owner, SHARED_LOCK_TTL_MS)) {
        const beat = setInterval(() => void shared.extend(keys.lock, owner, SHARED_LOCK_TTL_MS).catch(() => undefined), SHARED_LOCK_TTL_MS / 3)
        try {
          const again = await read()
          if (usable(again)) return adopt(again)
          await followGrant() // renew with the newest grant, not a rotated-away one
          const { token, rotated } = await this.renew(provider, ref, current, slot, material, opts)
          const ttl = (token.expiresAt ?? this.d.clock.now() + 86_400_000) - this.d.clock.now()
          if (ttl > 0) {
            const entry = { t: sealToken(token, sm, keys.info), ...(rotated ? { g: sealJson(rotated, sm, `${keys.info}\0grant`) } : {}) }
            await shared.set(keys.token, JSON.stringify(entry), ttl).catch((err: unknown) => {
              this.sharedDisabled = true
              this.d.warn(`${(err as Error).message}; the new token is cached locally only`)
            })
          }
          return token
        } finally {
          clearInterval(beat)
          await shared.unlock(keys.lock, owner).catch(() => undefined)
        }
      }
      if (!announced) {
        announced = true
        this.d.debug(`waiting for another runner's renewal (${shared.display})`)
      }
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100))
      const t = await read()
      if (usable(t)) return adopt(t)
      if (Date.now() > deadline) throw new SharedCacheError(`shared cache ${shared.display}: timed out waiting for another runner's renewal`)
    }
  }

  /** The profile's credential; environment variables win and never touch the store. */
  async resolve(provider: Provider, ref: ProfileRef): Promise<Credential> {
    return provider.fromEnv(this.d.env) ?? this.resolveStored(provider, ref, true)
  }

  /** The stored login only (ignoring the environment); undefined when there is none. */
  async resolveStored(provider: Provider, ref: ProfileRef): Promise<Credential | undefined>
  async resolveStored(provider: Provider, ref: ProfileRef, required: true): Promise<Credential>
  async resolveStored(provider: Provider, ref: ProfileRef, required = false): Promise<Credential | undefined> {
    const record = this.d.config.get(ref)
    if (!record && !required) return undefined
    if (!record) {
      throw new AuthRequiredError(`not logged in to ${provider.displayName} (profile ${ref.profile})`, {
        hint: `run \`authctl login ${provider.id}${profileFlag(ref.profile)}\` or set ${provider.envHint}`,
      })
    }
    const store = await this.d.openStore(record.store)
    const raw = await store.get(accountFor(ref.provider, ref.profile))
    let secret: Record<string, string> | undefined
    try {
      secret = raw === undefined ? undefined : (JSON.parse(raw) as Record<string, string>)
    } catch {
      secret = undefined
    }
    if (!secret || typeof secret !== 'object') {
      throw new AuthRequiredError(`the ${provider.displayName} login (profile ${ref.profile}) has no readable secret in the ${record.store} store`, {
        hint: `run \`authctl login ${provider.id}${profileFlag(ref.profile)}\` again`,
      })
    }
    return { kind: record.kind, source: record.store, secret, data: record.data }
  }

  /**
   * A token with more than `minTtlMs` left: from the cache with no network request, or renewed
   * under the lock. Waiters re-read the cache after the lock, so N processes make one renewal.
   */
  async getToken(provider: Provider, ref: ProfileRef, given: Credential, opts: GetTokenOptions): Promise<TokenSet> {
    // A credential that *is* its token (a stored key) is checked for expiry before use.
    const cred = provider.slot(given, opts.scope) === undefined ? this.liveCredential(provider, ref, given) : given
    const slot = provider.slot(cred, opts.scope)
    if (slot === undefined) {
      if (!provider.staticToken) throw new Error(`${provider.id}: no slot and no static token`)
      return provider.staticToken(cred)
    }
    const material = cacheKeyMaterial(cred)
    if (provider.canRenew && !provider.canRenew(cred)) return this.unrenewable(provider, ref, slot, material, opts)
    if (!opts.forceRefresh) {
      const cached = this.d.cache.read(ref, slot, material)
      if (cached && this.fresh(provider, cached, opts)) return cached
    }
    if (this.d.cacheOnly) throw new CacheMissError()
    const shared = this.sharedDisabled ? undefined : await this.d.shared?.()
    if (shared) {
      try {
        return await this.getShared(shared, provider, ref, cred, slot, material, opts)
      } catch (err) {
        if (!(err instanceof SharedCacheError)) throw err
        this.sharedDisabled = true
        this.d.warn(`${err.message}; using the local cache and lock`)
      }
    }
    const startedAt = this.d.clock.now()
    const lockFile = join(this.d.lockDir, `${ref.provider}-${ref.profile}-${slotId(slot)}.lock`)
    return withFileLock(
      lockFile,
      async () => {
        const cached = this.d.cache.read(ref, slot, material)
        // Renewed by another process while we waited: adopt it rather than renewing again
        // (a second Lucidworks renewal would kill the token that process just handed out).
        if (cached && ((cached.obtainedAt ?? 0) >= startedAt || (!opts.forceRefresh && this.fresh(provider, cached, opts)))) {
          this.d.debug(`adopted a token renewed by another process (${provider.id}/${ref.profile}/${slot})`)
          return cached
        }
        return (await this.renew(provider, ref, cred, slot, material, opts)).token
      },
      { onWait: (h) => this.d.debug(`waiting for renewal lock held by pid ${h?.pid ?? '?'}`) },
    )
  }

  /**
   * The credential to hand tokens out from, given the expiry of the long-lived key it keeps:
   * the credential itself while the key lives (or its expiry is unknown); once it has expired,
   * the same login without the key when that renews on its own (`fallback`; Haut.ai with a
   * stored password); otherwise exit 4 saying how to replace the key.
   */
  liveCredential(provider: Provider, ref: ProfileRef, cred: Credential, fallback = true): Credential {
    const key = provider.storedKey?.(cred.kind, cred.data)
    if (!key?.expiresAt || !cred.secret[key.field] || cred.source === 'environment') return cred
    const expiresAt = Date.parse(key.expiresAt)
    if (Number.isNaN(expiresAt) || expiresAt > this.d.clock.now()) return cred
    const what = `the ${provider.displayName} ${key.label}${key.id ? ` ${key.id}` : ''} stored in profile ${ref.profile} expired on ${key.expiresAt}`
    if (fallback) {
      const secret = { ...cred.secret }
      delete secret[key.field]
      const without: Credential = { ...cred, secret }
      if (provider.slot(without, undefined) !== undefined && (provider.canRenew?.(without) ?? true)) {
        if (this.d.cacheOnly) throw new CacheMissError()
        this.d.warn(`${what}; using a login token instead. Replace the key: ${key.replaceHint}`)
        return without
      }
    }
    throw new AuthRequiredError(what, { hint: key.replaceHint })
  }

  /** One renewal, inside the lock. A refused refresh grant is checked against the store first. */
  private async renew(provider: Provider, ref: ProfileRef, cred: Credential, slot: string, material: Buffer, opts: GetTokenOptions): Promise<{ token: TokenSet; rotated?: Record<string, string> }> {
    let used = cred
    let issued
    try {
      issued = await provider.issue(used, slot, this.d.providerContext())
    } catch (err) {
      if (!(err instanceof InvalidGrantError) || cred.source === 'environment') throw err
      // Another process (or machine) may have rotated the grant already: adopt its newer one.
      const latest = await this.resolveStored(provider, ref, true)
      if (JSON.stringify(latest.secret) === JSON.stringify(cred.secret)) throw err
      this.d.debug(`the stored grant changed while we held an older one; retrying with the newer (${provider.id}/${ref.profile})`)
      const cached = this.d.cache.read(ref, slot, cacheKeyMaterial(latest))
      if (cached && isFresh(cached, 0, this.d.clock.now())) return { token: cached }
      used = latest
      issued = await provider.issue(used, slot, this.d.providerContext())
    }
    if (issued.secretUpdate && used.source !== 'environment') {
      // Store a rotated grant before handing out the token: a crash must not lose it.
      await this.storeSecret(ref, used.source, { ...used.secret, ...issued.secretUpdate })
    }
    const stamped = { ...issued.token, obtainedAt: issued.token.obtainedAt ?? this.d.clock.now() }
    try {
      opts.onIssued?.(stamped)
    } catch {
      /* the caller's side effect; the token is still cached and returned */
    }
    this.fresh(provider, stamped, opts) // the --min-ttl clamp warning, from the first call on
    this.d.cache.write(ref, slot, used === cred ? material : cacheKeyMaterial(used), stamped)
    return issued.secretUpdate ? { token: stamped, rotated: issued.secretUpdate } : { token: stamped }
  }

  /**
   * A login kept without its password: serve the cached token until it expires (with a
   * warning once it is below the minimum TTL); after that only a new login helps.
   */
  private unrenewable(provider: Provider, ref: ProfileRef, slot: string, material: Buffer, opts: GetTokenOptions): TokenSet {
    const cached = this.d.cache.read(ref, slot, material)
    const now = this.d.clock.now()
    if (this.d.cacheOnly && (!cached || !this.fresh(provider, cached, opts))) throw new CacheMissError()
    const again = { hint: `run \`authctl login ${provider.id}${profileFlag(ref.profile)}\` again (or log in without --no-store-password to renew unattended)` }
    if (!cached || (cached.expiresAt !== undefined && cached.expiresAt <= now)) {
      throw new AuthRequiredError(`the ${provider.displayName} token of profile ${ref.profile} has expired and the password was not stored`, again)
    }
    if (opts.forceRefresh) throw new AuthRequiredError(`cannot renew the ${provider.displayName} token: the password was not stored`, again)
    if (!this.fresh(provider, cached, opts) && cached.expiresAt !== undefined) {
      this.d.warn(`the ${provider.displayName} token expires in ${Math.max(0, Math.round((cached.expiresAt - now) / 60_000))} min and cannot be renewed without a login`)
    }
    return cached
  }

  /** Writes a login's secret fields (plus a fresh cache key) to its store. */
  async storeSecret(ref: ProfileRef, backend: StoreBackend, secret: Record<string, string>): Promise<Record<string, string>> {
    const withKey = { ...secret, [CACHE_KEY_FIELD]: secret[CACHE_KEY_FIELD] ?? randomBytes(32).toString('base64') }
    const store = await this.d.openStore(backend)
    await store.set(accountFor(ref.provider, ref.profile), JSON.stringify(withKey))
    return withKey
  }
}

/**
 * Key material for a credential's cached tokens. A stored login carries a random cache key;
 * an environment credential derives one from the secret itself, so only a holder of the
 * secret can read the cache and a changed secret misses. Passwords are low-entropy, so theirs
 * goes through scrypt first (an HKDF alone would let the cache file test password guesses).
 */
export function cacheKeyMaterial(cred: Credential): Buffer {
  const stored = cred.secret[CACHE_KEY_FIELD]
  if (stored && cred.source !== 'environment') return Buffer.from(stored, 'base64')
  const canonical = JSON.stringify([cred.kind, Object.entries(cred.secret).sort(), cred.data.clientId ?? cred.data.email ?? null])
  if (cred.kind === 'password') return scryptSync(canonical, 'authctl env cache v1', 32, { N: 16384, r: 8, p: 1 })
  return createHash('sha256').update(canonical).digest()
}
