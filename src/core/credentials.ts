import { createHash, randomBytes, scryptSync } from 'node:crypto'
import { join } from 'node:path'
import type { Credential, IssueResult, Provider, ProviderContext, TokenSet } from '../providers/types.js'
import type { SecretStore } from '../store/types.js'
import { accountFor } from '../store/types.js'
import type { Clock } from './clock.js'
import type { ConfigStore, StoreBackend } from './config.js'
import { AuthRequiredError, InvalidGrantError } from './errors.js'
import { withFileLock } from './lock.js'
import type { ProfileRef } from './profile.js'
import { fleetKeyFrom, openEntry, sealEntry, SharedCacheError, SharedLockTimeoutError, sharedSlot, type SharedCache, type SharedEntry } from './shared-cache.js'
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
  /** The fleet key (AUTHCTL_CACHE_KEY), checked; required when `shared` answers. */
  fleetKey?: () => Buffer
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
/** Longest wait for another runner's renewal (CONTRACT: no runner waits more than 30 s). */
export const SHARED_WAIT_MS = 30_000

/** The wait for another runner's renewal: AUTHCTL_SHARED_WAIT_MS (a testing knob) can shorten it to 100 ms, never lengthen it. */
export function sharedWaitMs(env: Readonly<Record<string, string | undefined>>): number {
  const n = Number(env.AUTHCTL_SHARED_WAIT_MS || Number.NaN)
  return Number.isFinite(n) ? Math.min(SHARED_WAIT_MS, Math.max(100, Math.round(n))) : SHARED_WAIT_MS
}

/** An entry carrying a grant outlives its token, so that idle machines can still follow the grant. */
const SHARED_GRANT_TTL_MS = 30 * 86_400_000
/** Secret fields: the grant held before adopting one from the shared cache, and its generation. */
const PREV_REFRESH = 'refreshTokenPrev'
const GRANT_GEN = 'grantGen'

/** A generation newer than `seen`: issue time in ms, forced strictly above what was seen. */
function nextGeneration(seen: number, now: number): number {
  return Math.max(seen + 1, now)
}

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
    const limit =
      lifeMs < 120_000
        ? `half the ${provider.displayName} token lifetime (${s(lifeMs)})`
        : `the ${provider.displayName} token lifetime (${s(lifeMs)}) minus 60 s`
    this.d.warn(`--min-ttl ${s(fromMs)} is not below ${limit}; using ${s(toMs)}`)
  }

  /**
   * The fleet path. Redis is asked first: a local copy is served only if Redis holds nothing
   * newer (another machine's renewal may have killed it). Entries are authenticated; one older
   * than what this runner has seen (a rollback) is ignored. One runner renews under SET NX PX;
   * the others poll the entry for a generation newer than the one they started from.
   */
  private async getShared(
    shared: SharedCache,
    provider: Provider,
    ref: ProfileRef,
    cred: Credential,
    slot: string,
    material: Buffer,
    opts: GetTokenOptions,
  ): Promise<TokenSet> {
    const s = sharedSlot(this.d.fleetKey?.() ?? fleetKeyFrom(undefined), cred, provider.id, slot)
    const read = async (): Promise<SharedEntry | undefined> => {
      const raw = await shared.get(s.name)
      const e = raw ? openEntry(s, raw) : undefined
      if (raw && !e) this.d.debug(`ignored a shared cache entry that does not verify (${provider.id}/${ref.profile}/${slot})`)
      return e
    }
    let current = cred
    const adopt = async (e: SharedEntry): Promise<TokenSet> => {
      const t = { ...e.token, generation: e.gen }
      this.d.cache.write(ref, slot, material, t) // the local copy serves the fallback path
      current = await this.followGrant(ref, current, e)
      return t
    }
    const local = this.d.cache.read(ref, slot, material)
    const first = await read()
    const best = first && first.gen > (local?.generation ?? 0) ? await adopt(first) : local
    if (!opts.forceRefresh && best && this.fresh(provider, best, opts)) return best
    // Anything above this generation is a renewal made after we looked: adopt it, never renew again.
    const floor = Math.max(local?.generation ?? 0, first?.gen ?? 0)
    const newer = (e: SharedEntry | undefined): e is SharedEntry => e !== undefined && e.gen > floor
    const owner = randomBytes(12).toString('hex')
    const waitMs = sharedWaitMs(this.d.env)
    const deadline = Date.now() + waitMs
    for (let announced = false, checked = 0, polls = 0; ; ) {
      // A lock with no expiry, or a longer one than it can have, is bogus: broken (checked once a second).
      const check = Date.now() - checked > 1000
      if (check) checked = Date.now()
      const locked =
        (await shared.tryLock(s.lock, owner, SHARED_LOCK_TTL_MS)) ||
        (check && (await shared.breakBogusLock(s.lock, SHARED_LOCK_TTL_MS)) && (await shared.tryLock(s.lock, owner, SHARED_LOCK_TTL_MS)))
      // Load the HTTP client before relying on the lock: a synchronous module load on a starved
      // machine can outlast the lock's lifetime, and a lapsed lock means a second renewal.
      if (locked) await this.d.providerContext().http?.()
      if (locked && !(await shared.extend(s.lock, owner, SHARED_LOCK_TTL_MS))) continue
      if (locked) {
        const beat = setInterval(() => void shared.extend(s.lock, owner, SHARED_LOCK_TTL_MS).catch(() => undefined), SHARED_LOCK_TTL_MS / 3)
        try {
          const again = await read()
          if (newer(again)) return adopt(again)
          const gen = nextGeneration(Math.max(floor, Number(current.secret[GRANT_GEN] ?? 0)), this.d.clock.now())
          const { token, grant } = await this.renew(provider, ref, current, slot, material, gen, opts)
          const left = (token.expiresAt ?? this.d.clock.now() + 86_400_000) - this.d.clock.now()
          const ttl = grant ? Math.max(left, SHARED_GRANT_TTL_MS) : left
          if (ttl > 0) {
            await shared.set(s.name, sealEntry(s, { gen, token, ...(grant ? { grant } : {}) }), ttl).catch((err: unknown) => {
              this.sharedDisabled = true
              this.d.warn(`${(err as Error).message}; the new token is cached locally only`)
            })
          }
          return token
        } finally {
          clearInterval(beat)
          await shared.unlock(s.lock, owner).catch(() => undefined)
        }
      }
      if (!announced) {
        announced = true
        this.d.debug(`waiting for another runner's renewal (${shared.display})`)
      }
      // Back off (50 ms → 500 ms, jittered): dozens of waiters must not starve the holder or Redis.
      await new Promise((r) => setTimeout(r, Math.min(500, 50 * 1.5 ** polls++) * (0.5 + Math.random())))
      const t = await read()
      if (newer(t)) return adopt(t)
      if (Date.now() > deadline) {
        throw new SharedLockTimeoutError(`timed out after ${waitMs / 1000} s waiting for another runner's renewal (shared cache ${shared.display})`, {
          hint: 'try again; if it keeps happening, something else holds the renewal lock in Redis (check who can write to it)',
        })
      }
    }
  }

  /**
   * Adopts the grant of a shared entry only if it is newer than the one this login holds, and
   * keeps the refresh token it replaces until a refresh with the new one has worked.
   */
  private async followGrant(ref: ProfileRef, cred: Credential, e: SharedEntry): Promise<Credential> {
    if (!e.grant || cred.source === 'environment' || e.gen <= Number(cred.secret[GRANT_GEN] ?? 0)) return cred
    if (Object.entries(e.grant).every(([k, v]) => cred.secret[k] === v)) return cred
    const prev = cred.secret[PREV_REFRESH] ?? cred.secret.refreshToken
    const secret: Record<string, string> = { ...cred.secret, ...e.grant, [GRANT_GEN]: String(e.gen) }
    if (prev && prev !== secret.refreshToken) secret[PREV_REFRESH] = prev
    this.d.debug(`adopted the newer grant another runner rotated (${ref.provider}/${ref.profile})`)
    return { ...cred, secret: await this.storeSecret(ref, cred.source, secret) }
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
    if (this.d.cacheOnly) {
      const cached = opts.forceRefresh ? undefined : this.d.cache.read(ref, slot, material)
      if (cached && this.fresh(provider, cached, opts)) return cached
      throw new CacheMissError()
    }
    // With a shared cache, Redis is asked before a local copy is served.
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
    if (!opts.forceRefresh) {
      const cached = this.d.cache.read(ref, slot, material)
      if (cached && this.fresh(provider, cached, opts)) return cached
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
        return (await this.renew(provider, ref, cred, slot, material, nextGeneration(cached?.generation ?? 0, this.d.clock.now()), opts)).token
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

  /**
   * One renewal, inside the lock, stamped with generation `gen`. A refused refresh grant is
   * checked against the store first, then retried with the grant held before the last adoption.
   * Returns the token and the grant it leaves current (for the shared entry).
   */
  private async renew(
    provider: Provider,
    ref: ProfileRef,
    cred: Credential,
    slot: string,
    material: Buffer,
    gen: number,
    opts: GetTokenOptions,
  ): Promise<{ token: TokenSet; grant?: Record<string, string> }> {
    let used = cred
    let issued: IssueResult
    try {
      issued = await provider.issue(used, slot, this.d.providerContext())
    } catch (err) {
      if (!(err instanceof InvalidGrantError) || cred.source === 'environment') throw err
      // Another process (or machine) may have rotated the grant already: adopt its newer one.
      const latest = await this.resolveStored(provider, ref, true)
      if (JSON.stringify(latest.secret) !== JSON.stringify(cred.secret)) {
        this.d.debug(`the stored grant changed while we held an older one; retrying with the newer (${provider.id}/${ref.profile})`)
        const cached = this.d.cache.read(ref, slot, cacheKeyMaterial(latest))
        if (cached && isFresh(cached, 0, this.d.clock.now())) return { token: cached }
        used = latest
      } else if (cred.secret[PREV_REFRESH]) {
        // An adopted grant that does not work: the one we held before is kept for exactly this.
        this.d.debug(`the adopted grant was refused; retrying with the previous one (${provider.id}/${ref.profile})`)
        used = { ...cred, secret: { ...cred.secret, refreshToken: cred.secret[PREV_REFRESH] } }
      } else throw err
      issued = await provider.issue(used, slot, this.d.providerContext())
    }
    const { [PREV_REFRESH]: hadPrev, ...worked } = used.secret
    if ((issued.secretUpdate || hadPrev !== undefined) && used.source !== 'environment') {
      // Store a rotated grant before handing out the token: a crash must not lose it. The grant
      // just worked, so the previous one is no longer needed.
      await this.storeSecret(ref, used.source, { ...worked, ...issued.secretUpdate, ...(issued.secretUpdate ? { [GRANT_GEN]: String(gen) } : {}) })
    }
    const stamped = { ...issued.token, obtainedAt: issued.token.obtainedAt ?? this.d.clock.now(), generation: gen }
    try {
      opts.onIssued?.(stamped)
    } catch {
      /* the caller's side effect; the token is still cached and returned */
    }
    this.fresh(provider, stamped, opts) // the --min-ttl clamp warning, from the first call on
    this.d.cache.write(ref, slot, used === cred ? material : cacheKeyMaterial(used), stamped)
    const grant = issued.secretUpdate ?? (worked.refreshToken ? { refreshToken: worked.refreshToken } : undefined)
    return grant ? { token: stamped, grant } : { token: stamped }
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
      this.d.warn(
        `the ${provider.displayName} token expires in ${Math.max(0, Math.round((cached.expiresAt - now) / 60_000))} min and cannot be renewed without a login`,
      )
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
