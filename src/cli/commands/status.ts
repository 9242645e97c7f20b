import { envHint } from '../../providers/descriptor.js'
import type { Command } from 'commander'
import { AuthRequiredError } from '../../kernel/errors.js'
import { allProviders, getProvider } from '../../providers/registry.js'
import type { Provider } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { SHARED_CACHE_TIMEOUT_MS } from '../fleet.js'
import { formatTable, isoOrNull, printJson, relativeTime, terminalFit } from '../output.js'
import { profileSuffix } from './common.js'
import { envCredential, halfSetEnv, halfSetError } from '../../tokens/credentials.js'

export interface StatusEntry {
  provider: string
  profile: string
  kind: string
  source: string
  identity: string | null
  /** A stored login hidden by environment credentials for the same provider. */
  overridden_by_environment: boolean
  tokens: Array<{ scope: string; scopes: string[]; expires_at: string | null; expired: boolean }>
  /** The long-lived key or token the login keeps (saved key, API key, UI-made token), if any. */
  key: StatusKey | null
}

export interface StatusKey {
  kind: string
  id: string | null
  /** ISO-8601, or null when unknown (give it with `login … --expires`). */
  expires_at: string | null
  expired: boolean
}

/** The stored key of a login, with its expiry as of `now`. */
export function storedKeyStatus(provider: Provider | undefined, kind: string, data: Readonly<Record<string, unknown>>, now: number): StatusKey | null {
  const k = provider?.storedKey?.(kind, data)
  if (!k) return null
  const at = k.expiresAt ? Date.parse(k.expiresAt) : Number.NaN
  return { kind: k.label, id: k.id ?? null, expires_at: Number.isNaN(at) ? null : new Date(at).toISOString(), expired: !Number.isNaN(at) && at <= now }
}

export function registerStatus(parent: Command, ctx: CliContext, runF = runStatus): Command {
  return parent
    .command('status')
    .description('every provider/profile with its credential kind, source and cached token expiry')
    .argument('[provider]', 'only this provider; exit 4 when it has no credential in the profile or the environment')
    .addHelpText(
      'after',
      `
Never prints a secret, and makes no network request.

Examples:
  authctl status
  authctl status lucidworks || echo "no Lucidworks credential"     # a scriptable check
  authctl status --json | jq '.profiles[] | select(.source == "environment")'`,
    )
    .action(async (provider?: string) => runF(ctx, provider))
}

function identityOf(data: Readonly<Record<string, unknown>>): string | null {
  const v = data.email ?? data.clientId ?? data.username ?? data.context
  return typeof v === 'string' ? v : null
}

export function collectStatus(ctx: CliContext): StatusEntry[] {
  const now = ctx.clock.now()
  const cache = ctx.cache()
  const entries: StatusEntry[] = []
  const tokensOf = (provider: string, profile: string) =>
    cache.list({ provider, profile }).map((m) => ({
      scope: m.slot,
      scopes: m.scopes,
      expires_at: isoOrNull(m.expiresAt),
      expired: m.expiresAt !== undefined && m.expiresAt <= now,
    }))
  const envProviders = new Set<string>()
  const byId = new Map(allProviders().map((p) => [p.id, p]))
  for (const p of allProviders()) {
    const cred = envCredential(p, ctx.env)
    if (!cred) continue
    envProviders.add(p.id)
    entries.push({
      provider: p.id,
      profile: ctx.profile,
      kind: cred.kind,
      source: 'environment',
      identity: identityOf(cred.data),
      overridden_by_environment: false,
      tokens: tokensOf(p.id, ctx.profile),
      key: null,
    })
  }
  for (const r of ctx.config().list()) {
    entries.push({
      provider: r.provider,
      profile: r.profile,
      kind: r.kind,
      source: r.store,
      identity: identityOf(r.data),
      overridden_by_environment: envProviders.has(r.provider) && r.profile === ctx.profile,
      tokens: tokensOf(r.provider, r.profile),
      key: storedKeyStatus(byId.get(r.provider), r.kind, r.data, now),
    })
  }
  return entries
}

/** Whether a shared cache is configured, and whether it answers right now. */
export async function sharedCacheStatus(ctx: CliContext): Promise<{ url: string; reachable: boolean; error?: string } | null> {
  const url = ctx.fleet.url()
  if (!url) return null
  const { redactRedisUrl } = await import('../../tokens/shared-cache.js')
  const { connectRedis } = await import('../../store/redis.js')
  try {
    const c = await connectRedis(url, SHARED_CACHE_TIMEOUT_MS)
    await c.close()
    return { url: redactRedisUrl(url), reachable: true }
  } catch (err) {
    return { url: redactRedisUrl(url), reachable: false, error: (err as Error).message }
  }
}

/**
 * The status table (or JSON). With a provider: only its profiles, printed first, then exit 4
 * when the active profile has no credential for it (stored or in the environment).
 */
export async function runStatus(ctx: CliContext, providerName?: string): Promise<void> {
  const provider = providerName === undefined ? undefined : getProvider(providerName)
  const entries = collectStatus(ctx).filter((e) => !provider || e.provider === provider.id)
  const shared = await sharedCacheStatus(ctx)
  if (ctx.globals.json) printJson(ctx.io, { profiles: entries, shared_cache: shared })
  else printStatus(ctx, entries, shared, provider === undefined)
  if (provider && !entries.some((e) => e.profile === ctx.profile)) {
    const half = halfSetEnv(provider, ctx.env)
    if (half) throw halfSetError(provider, ctx.profile, half) // as `token` says it
    throw new AuthRequiredError(`no ${provider.displayName} credential in profile ${ctx.profile}`, {
      hint: `run \`authctl login ${provider.id}${profileSuffix(ctx.profile)}\`, or set ${envHint(provider)}`,
    })
  }
}

function printStatus(ctx: CliContext, entries: StatusEntry[], shared: Awaited<ReturnType<typeof sharedCacheStatus>>, all: boolean): void {
  if (shared) ctx.info(`Shared token cache: ${shared.url} (${shared.reachable ? 'reachable' : `unreachable: ${shared.error}; the local cache is used`})`)
  if (entries.length === 0) {
    if (all) ctx.info("No credentials. Run `authctl login <provider>`, or set a provider's environment variables.")
    return
  }
  const now = ctx.clock.now()
  const withKeys = entries.some((e) => e.key)
  // --json says null for a key that never expires and for one of unknown expiry; the table tells them apart.
  const byId = new Map(allProviders().map((p) => [p.id, p]))
  const never = new Set(
    ctx
      .config()
      .list()
      .filter((r) => byId.get(r.provider)?.storedKey?.(r.kind, r.data)?.never)
      .map((r) => `${r.provider}/${r.profile}`),
  )
  const rows = entries.map((e) => [
    e.provider,
    e.profile,
    e.kind,
    e.overridden_by_environment ? `${e.source} (overridden by environment)` : e.source,
    e.identity ?? '-',
    e.tokens.length === 0 ? '-' : e.tokens.map((t) => `${t.scope}: ${t.expires_at ? relativeTime(Date.parse(t.expires_at), now) : 'no expiry'}`).join('; '),
    ...(withKeys ? [keyCell(e.key, now, e.source !== 'environment' && never.has(`${e.provider}/${e.profile}`))] : []),
  ])
  ctx.io.out(
    formatTable(['PROVIDER', 'PROFILE', 'KIND', 'SOURCE', 'IDENTITY', 'TOKENS', ...(withKeys ? ['KEY EXPIRY'] : [])], rows, terminalFit(ctx.io, [0, 1])),
  )
}

function keyCell(k: StatusKey | null, now: number, never: boolean): string {
  if (!k) return '-'
  const what = `${k.kind}${k.id ? ` ${k.id}` : ''}`
  if (!k.expires_at) return `${what}: ${never ? 'never expires' : 'expiry unknown'}`
  const rel = relativeTime(Date.parse(k.expires_at), now)
  return `${what}: ${k.expired ? 'EXPIRED' : 'expires'} ${k.expires_at.slice(0, 10)} (${rel})`
}
