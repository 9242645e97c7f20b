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
import { isFresh, slotId, type TokenCache } from './token-cache.js'

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
  minTtlMs: number
  forceRefresh?: boolean
}

/** Secret field holding the random key that encrypts a stored login's cached tokens. */
const CACHE_KEY_FIELD = 'cacheKey'

/**
 * A provider's environment credential that is only partly set (e.g. LUCIDWORKS_CLIENT_ID without
 * LUCIDWORKS_CLIENT_SECRET): the variables present and those missing. Undefined when the
 * environment holds a complete credential or none of its variables.
 */
export function halfSetEnv(provider: Provider, env: Readonly<Record<string, string | undefined>>): { set: string[]; missing: string[] } | undefined {
  if (provider.fromEnv(env)) return undefined
  for (const group of provider.credentialEnv ?? []) {
    const set = group.filter((v) => env[v])
    if (set.length > 0 && set.length < group.length) return { set, missing: group.filter((v) => !env[v]) }
  }
  return undefined
}

const listVars = (vars: readonly string[]) => vars.join(' and ')

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
  constructor(private readonly d: TokenServiceDeps) {}

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
      t !== undefined && ((t.obtainedAt ?? 0) >= startedAt || (!opts.forceRefresh && isFresh(t, opts.minTtlMs, this.d.clock.now())))
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
    if (!opts.forceRefresh && first && isFresh(first, opts.minTtlMs, this.d.clock.now())) return adopt(first)
    const owner = randomBytes(12).toString('hex')
    const deadline = Date.now() + SHARED_WAIT_MS
    for (let announced = false; ; ) {
      if (await shared.tryLock(keys.lock, owner, SHARED_LOCK_TTL_MS)) {
        const beat = setInterval(() => void shared.extend(keys.lock, owner, SHARED_LOCK_TTL_MS).catch(() => undefined), SHARED_LOCK_TTL_MS / 3)
        try {
          const again = await read()
          if (usable(again)) return adopt(again)
          await followGrant() // renew with the newest grant, not a rotated-away one
          const { token, rotated } = await this.renew(provider, ref, current, slot, material)
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
      const half = halfSetEnv(provider, this.d.env)
      if (half) {
        throw new AuthRequiredError(
          `${listVars(half.set)} ${half.set.length > 1 ? 'are' : 'is'} set but ${listVars(half.missing)} ${half.missing.length > 1 ? 'are' : 'is'} not, and profile ${ref.profile} has no ${provider.displayName} login`,
          { hint: `set ${listVars(half.missing)} too, or run \`authctl login ${provider.id}${profileFlag(ref.profile)}\`` },
        )
      }
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
      if (cached && isFresh(cached, opts.minTtlMs, this.d.clock.now())) return cached
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
        if (cached && ((cached.obtainedAt ?? 0) >= startedAt || (!opts.forceRefresh && isFresh(cached, opts.minTtlMs, this.d.clock.now())))) {
          this.d.debug(`adopted a token renewed by another process (${provider.id}/${ref.profile}/${slot})`)
          return cached
        }
        return (await this.renew(provider, ref, cred, slot, material)).token
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
  private async renew(provider: Provider, ref: ProfileRef, cred: Credential, slot: string, material: Buffer): Promise<{ token: TokenSet; rotated?: Record<string, string> }> {
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
    if (this.d.cacheOnly && (!cached || !isFresh(cached, opts.minTtlMs, now))) throw new CacheMissError()
    const again = { hint: `run \`authctl login ${provider.id}${profileFlag(ref.profile)}\` again (or log in without --no-store-password to renew unattended)` }
    if (!cached || (cached.expiresAt !== undefined && cached.expiresAt <= now)) {
      throw new AuthRequiredError(`the ${provider.displayName} token of profile ${ref.profile} has expired and the password was not stored`, again)
    }
    if (opts.forceRefresh) throw new AuthRequiredError(`cannot renew the ${provider.displayName} token: the password was not stored`, again)
    if (!isFresh(cached, opts.minTtlMs, now) && cached.expiresAt !== undefined) {
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
