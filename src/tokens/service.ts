import type { Clock } from '../kernel/clock.js'
import { AuthRequiredError, InvalidGrantError } from '../kernel/errors.js'
import { type ProfileRef, profileSuffix } from '../kernel/profile.js'
import type { Credential, IssueResult, Provider, ProviderContext, TokenSet } from '../providers/types.js'
import { type Coordinator, localCoordinator, type Renewal, type RenewFn, type SlotContext } from './coordinator.js'
import { fleetKeyFrom, type SharedCache, SharedCacheError, type SharedEntry, sharedSlot } from './shared-cache.js'
import { GRANT_GEN, SHARED_WAIT_MS, sharedCoordinator } from './shared-coordinator.js'
import { cacheKeyMaterial, type Credentials } from './credentials.js'
import { clampMinTtl, DEFAULT_MIN_TTL_MS, isFresh, keepFreshLeadMs, type TokenCache } from './token-cache.js'

export { SHARED_LOCK_TTL_MS, SHARED_WAIT_MS, sharedWaitMs } from './shared-coordinator.js'

export interface TokenServiceDeps {
  /** The fleet-wide cache (AUTHCTL_CACHE), or undefined; failures fall back to local. */
  shared?: () => Promise<SharedCache | undefined>
  /** The fleet key (AUTHCTL_CACHE_KEY), checked; required when `shared` answers. */
  fleetKey?: () => Buffer
  /** Lookup of stored logins and writes of their secret fields (rotated grants). */
  credentials: Credentials
  cache: TokenCache
  /** Directory of the renewal lock files. */
  lockDir: string
  clock: Clock
  providerContext(): ProviderContext
  debug(line: string): void
  warn(line: string): void
  /** The wait for another runner's shared-cache renewal (default SHARED_WAIT_MS). */
  sharedWaitMs?: number
}

/** A minimum token lifetime, and the name it was given by, for messages (`--min-ttl`, `minTtl`, AUTHCTL_MIN_TTL). */
export interface MinTtl {
  minTtlMs: number
  minTtlName: string
}

export interface GetTokenOptions {
  scope?: string
  /** Renew when less than this is left; clamped to what the token's lifetime allows (clampMinTtl). */
  minTtlMs: number
  /** What the minimum was given as, for the clamp warning (default `--min-ttl`). */
  minTtlName?: string
  forceRefresh?: boolean
  /** `exec --keep-fresh`: renew a little before `minTtlMs` (keepFreshLeadMs), ahead of peers. */
  renewEarly?: boolean
  /**
   * Called with a newly issued token as soon as it is safe to hand out (after a rotated grant is
   * stored, before the cache write): on Lucidworks the previous token is already dead then.
   */
  onIssued?: (token: TokenSet) => void
}

/**
 * The one renewal algorithm: a known token that may be served (fresh, and no --force-refresh),
 * else a renewal under the coordinator (or a newer token someone renewed meanwhile).
 */
async function serve(c: Coordinator, servable: (t: TokenSet) => boolean, renew: RenewFn): Promise<TokenSet> {
  const known = await c.latest()
  if (known && servable(known)) return known
  // Anything above this generation is a renewal made after we looked: adopt it, never renew again.
  return c.exclusive(known?.generation ?? 0, renew)
}

/** Secret field: the grant held before adopting one from the shared cache. */
const PREV_REFRESH = 'refreshTokenPrev'

/**
 * Credential resolution (environment, then the profile's store) and token renewal: one
 * algorithm (serve a fresh token, else renew once under a coordinator) over the on-disk cache and
 * a cross-process file lock, or the fleet's Redis lease.
 */
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
    if (c.clampedFrom !== undefined && c.lifetimeMs !== undefined)
      this.warnClamped(provider, opts.minTtlName ?? '--min-ttl', c.clampedFrom, c.lifetimeMs, c.minTtlMs)
    const lead = opts.renewEarly && c.lifetimeMs !== undefined ? keepFreshLeadMs(c.minTtlMs, c.lifetimeMs) : 0
    return isFresh(t, c.minTtlMs + lead, this.d.clock.now())
  }

  private warnClamped(provider: Provider, name: string, fromMs: number, lifeMs: number, toMs: number): void {
    const s = (ms: number) => `${Math.round(ms / 1000)} s`
    const key = `${provider.id}\0${fromMs}`
    // The default is adjusted silently; a minimum the user chose gets a warning.
    if (this.clampWarned.has(key) || fromMs === DEFAULT_MIN_TTL_MS) return
    this.clampWarned.add(key)
    const limit =
      lifeMs < 120_000
        ? `half the ${provider.displayName} token lifetime (${s(lifeMs)})`
        : `the ${provider.displayName} token lifetime (${s(lifeMs)}) minus 60 s`
    this.d.warn(`${name} ${s(fromMs)} is not below ${limit}; using ${s(toMs)}`)
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
    return { ...cred, secret: await this.d.credentials.storeSecret(ref, cred.source, secret) }
  }

  /**
   * A token with more than `minTtlMs` left, as the provider's plan says: the credential's own
   * token, a cached one (no network), or one renewed exactly once among all waiters.
   */
  async getToken(provider: Provider, ref: ProfileRef, given: Credential, opts: GetTokenOptions): Promise<TokenSet> {
    // A credential that *is* its token (a stored key) is checked for expiry before use.
    const first = provider.plan(given, opts.scope)
    const cred = first.kind === 'static' ? this.liveCredential(provider, ref, given) : given
    const plan = cred === given ? first : provider.plan(cred, opts.scope)
    if (plan.kind === 'static') return plan.token()
    const material = cacheKeyMaterial(cred)
    if (plan.kind === 'cache-only') return this.unrenewable(provider, ref, plan.slot, material, opts)
    // The request's own credential reuses the material above (for an env password an scrypt, ~37 ms);
    // a login re-read after invalid_grant gets its own.
    const materialFor = (c: Credential) => (c === cred ? material : cacheKeyMaterial(c))
    // Whether this call's renewal could be kept in the local cache, for the shared cache's warning.
    const kept = { locally: true }
    const renew: RenewFn = (gen, used) => this.renew(provider, ref, used, opts, gen, materialFor, kept)
    const slot: SlotContext = { ref, slot: plan.slot, cred, material, cache: this.d.cache, now: () => this.d.clock.now(), debug: (l) => this.d.debug(l) }
    const servable = (t: TokenSet) => !opts.forceRefresh && this.fresh(provider, t, opts)
    const shared = this.sharedDisabled ? undefined : await this.d.shared?.()
    if (shared) {
      try {
        return await serve(this.sharedFor(shared, ref, slot, kept), servable, renew)
      } catch (err) {
        if (!(err instanceof SharedCacheError)) throw err
        this.sharedDisabled = true
        this.d.warn(`${err.message}; using the local cache and lock`)
      }
    }
    return serve(localCoordinator(slot, this.d.lockDir, servable), servable, renew)
  }

  private sharedFor(shared: SharedCache, ref: ProfileRef, slot: SlotContext, kept: { locally: boolean }): Coordinator {
    return sharedCoordinator({
      ...slot,
      shared,
      names: sharedSlot(this.d.fleetKey?.() ?? fleetKeyFrom(undefined), slot.cred, ref.provider, slot.slot),
      followGrant: (cred, e) => this.followGrant(ref, cred, e),
      warmUp: async () => this.d.providerContext().http?.(),
      waitMs: this.d.sharedWaitMs ?? SHARED_WAIT_MS,
      onWriteFailure: (err) => {
        this.sharedDisabled = true
        this.d.warn(
          `${err.message}; ${kept.locally ? 'the new token is cached locally only' : 'the new token is not cached anywhere: the next run requests another'}`,
        )
      },
    })
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
      if (provider.plan(without, undefined).kind === 'renewable') {
        this.d.warn(`${what}; using a login token instead. Replace the key: ${key.replaceHint}`)
        return without
      }
    }
    throw new AuthRequiredError(what, { hint: key.replaceHint })
  }

  /** The provider's renewal for `cred`; a credential that cannot renew any more is exit 4. */
  private issue(provider: Provider, ref: ProfileRef, cred: Credential, scope: string | undefined): Promise<IssueResult> {
    const plan = provider.plan(cred, scope)
    if (plan.kind !== 'renewable') {
      throw new AuthRequiredError(`the ${provider.displayName} login of profile ${ref.profile} cannot renew its token`, {
        hint: `run \`authctl login ${provider.id}${profileSuffix(ref.profile)}\` again`,
      })
    }
    return plan.renew(this.d.providerContext())
  }

  /**
   * A refused refresh grant is checked against the store first (another process may have rotated
   * it already), then retried with the grant held before the last adoption from the shared cache.
   */
  private async issueRecovering(
    provider: Provider,
    ref: ProfileRef,
    cred: Credential,
    opts: GetTokenOptions,
  ): Promise<{ issued: IssueResult; used: Credential }> {
    try {
      return { issued: await this.issue(provider, ref, cred, opts.scope), used: cred }
    } catch (err) {
      if (!(err instanceof InvalidGrantError) || cred.source === 'environment') throw err
      const latest = await this.d.credentials.resolveStored(provider, ref, true)
      let used: Credential
      if (JSON.stringify(latest.secret) !== JSON.stringify(cred.secret)) {
        this.d.debug(`the stored grant changed while we held an older one; retrying with the newer (${provider.id}/${ref.profile})`)
        const slot = provider.plan(latest, opts.scope)
        const cached = slot.kind === 'static' ? undefined : this.d.cache.read(ref, slot.slot, cacheKeyMaterial(latest))
        if (cached && isFresh(cached, 0, this.d.clock.now())) return { issued: { token: cached }, used: latest }
        used = latest
      } else if (cred.secret[PREV_REFRESH]) {
        // An adopted grant that does not work: the one we held before is kept for exactly this.
        this.d.debug(`the adopted grant was refused; retrying with the previous one (${provider.id}/${ref.profile})`)
        used = { ...cred, secret: { ...cred.secret, refreshToken: cred.secret[PREV_REFRESH] } }
      } else throw err
      return { issued: await this.issue(provider, ref, used, opts.scope), used }
    }
  }

  /**
   * One renewal, inside the coordinator's exclusion, stamped with generation `gen`. A rotated
   * grant is stored before the token is handed out. Returns the token and the grant it leaves
   * current (for the shared entry).
   */
  private async renew(
    provider: Provider,
    ref: ProfileRef,
    cred: Credential,
    opts: GetTokenOptions,
    gen: number,
    materialFor: (c: Credential) => Buffer,
    kept: { locally: boolean },
  ): Promise<Renewal> {
    const { issued, used } = await this.issueRecovering(provider, ref, cred, opts)
    const { [PREV_REFRESH]: hadPrev, ...worked } = used.secret
    if ((issued.secretUpdate || hadPrev !== undefined) && used.source !== 'environment') {
      // Store a rotated grant before handing out the token: a crash must not lose it. The grant
      // just worked, so the previous one is no longer needed.
      await this.d.credentials.storeSecret(ref, used.source, {
        ...worked,
        ...issued.secretUpdate,
        ...(issued.secretUpdate ? { [GRANT_GEN]: String(gen) } : {}),
      })
    }
    const stamped = { ...issued.token, obtainedAt: issued.token.obtainedAt ?? this.d.clock.now(), generation: gen }
    try {
      opts.onIssued?.(stamped)
    } catch {
      /* the caller's side effect; the token is still cached and returned */
    }
    this.fresh(provider, stamped, opts) // the --min-ttl clamp warning, from the first call on
    const plan = provider.plan(used, opts.scope)
    // The token exists now (on Lucidworks the previous one is dead): a cache that cannot be
    // written costs a warning, not the token (the shared cache, if any, still gets it).
    const unkept = plan.kind === 'static' ? undefined : this.d.cache.keep(ref, plan.slot, materialFor(used), stamped)
    kept.locally = !unkept
    if (unkept) this.d.warn(`the new token is not kept in the local token cache (${unkept.message}); fix the config dir, or set AUTHCTL_CONFIG_DIR`)
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
    const again = {
      hint: `run \`authctl login ${provider.id}${profileSuffix(ref.profile)}\` again (or log in without --no-store-password to renew unattended)`,
    }
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
}
