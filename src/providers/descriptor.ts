import { AuthRequiredError } from '../kernel/errors.js'
import { profileSuffix } from '../kernel/profile.js'
import type { Credential, CredentialSource } from '../kernel/types.js'
import type { FieldType, FlagSpec, KeyFlagSpec, Provider } from './types.js'

/**
 * What the CLI derives from a provider's descriptor instead of naming providers itself: env
 * hints, exec prefixes, flag names and help, the typed reading of stored logins.
 */

/** "A and B (or C)": the variables that make an environment credential, for hints. */
export function envHint(p: Provider): string {
  const [first, ...rest] = p.env.credentials.map((set) => set.join(' and '))
  return `${first ?? ''}${rest.length ? ` (or ${rest.join(', or ')})` : ''}`
}

/** "is" for a hint of one variable (INSTABASE_API_TOKEN), "are" for more (A and B, or C). */
export function envVerb(p: Provider): 'is' | 'are' {
  return p.env.credentials.length === 1 && p.env.credentials[0]?.length === 1 ? 'is' : 'are'
}

/** The prefix of a credential's `exec` variables (a login may choose its own, e.g. oauth2 --env-prefix). */
export function envPrefix(p: Provider, cred?: Credential): string {
  return (cred && p.envPrefixFor?.(cred)) ?? p.env.prefix
}

/** The scopes `exec`/`env` get a token for: the provider's choice, or one token with the login's default. */
export function execScopesOf(p: Provider, cred: Credential, scopes: readonly string[]): Array<string | undefined> {
  return p.execScopes ? p.execScopes(cred, scopes) : [undefined]
}

/** `--client-id <id>` → `client-id`; `--no-verify` → `no-verify`. */
export function flagName(spec: FlagSpec): string {
  return (spec.flags.split(/[ ,]/)[0] as string).replace(/^--/, '')
}

/** The commander attribute name: `--client-id` → `clientId`, `--no-verify` → `verify`. */
export function flagKey(spec: FlagSpec): string {
  return flagName(spec)
    .replace(/^no-/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

/** Help text of a flag for one provider: its own words and the variable that can replace it. */
export function flagHelp(spec: FlagSpec): string {
  return spec.env ? `${spec.help} (env ${spec.env})` : spec.help
}

/** Every provider's flags of one list, once per flag name, with the providers that take it. */
export function flagUnion<F extends FlagSpec>(
  providers: readonly Provider[],
  flagsOf: (p: Provider) => readonly F[],
): Map<string, { spec: F; providers: Provider[] }> {
  const union = new Map<string, { spec: F; providers: Provider[] }>()
  for (const p of providers) {
    for (const f of flagsOf(p)) {
      const entry = union.get(flagName(f))
      if (entry) entry.providers.push(p)
      else union.set(flagName(f), { spec: f, providers: [p] })
    }
  }
  return union
}

/**
 * Help of a flag several providers take: their shared words, or each provider's own
 * (`LupaSearch: …; Haut.ai: …`) where they differ, so no provider's text speaks for another.
 */
export function unionHelp<F extends FlagSpec>(spec: F, providers: readonly Provider[], flagsOf: (p: Provider) => readonly F[], tag: 'ids' | 'names'): string {
  const own = (p: Provider) => flagsOf(p).find((f) => flagName(f) === flagName(spec))?.help ?? spec.help
  const label = (p: Provider) => (tag === 'ids' ? p.id : p.displayName)
  if (providers.every((p) => own(p) === spec.help)) {
    return tag === 'ids' ? `${spec.help} [${providers.map(label).join(', ')}]` : `${providers.map(label).join(', ')}: ${spec.help}`
  }
  return providers.map((p) => `${label(p)}: ${own(p)}`).join('; ')
}

/** The key flags a provider takes for one `keys` subcommand. */
export function keyFlagsFor(p: Provider, op: 'create' | 'list' | 'revoke' | 'rotate'): KeyFlagSpec[] {
  return (p.keys?.flags ?? []).filter((f) => !f.ops || f.ops.includes(op))
}

function fieldOk(v: unknown, t: FieldType): boolean {
  const optional = t.endsWith('?')
  if (v === undefined || v === null) return optional
  const base = t.replace('?', '')
  if (base === 'string[]') return Array.isArray(v) && v.every((x) => typeof x === 'string')
  return typeof v === base
}

/**
 * A stored login, checked against the provider's schema: a kind it knows, its required secret
 * fields, and typed data. Anything else is exit 4 (log in again) before the provider sees it.
 */
export function parseStored(p: Provider, profile: string, record: { kind: string; source: CredentialSource; secret: unknown; data: unknown }): Credential {
  const again = { hint: `run \`authctl login ${p.id}${profileSuffix(profile)}\` again` }
  const bad = (what: string) => new AuthRequiredError(`the stored ${p.displayName} login (profile ${profile}) is unreadable: ${what}`, again)
  const schema = p.stored[record.kind]
  if (!schema) throw bad(`unknown kind ${JSON.stringify(String(record.kind).slice(0, 40))}`)
  const secret = record.secret as Record<string, unknown>
  const data = (record.data ?? {}) as Record<string, unknown>
  if (!secret || typeof secret !== 'object' || typeof data !== 'object') throw bad('not an object')
  for (const [k, v] of Object.entries(secret)) if (typeof v !== 'string') throw bad(`secret field ${k} is not a string`)
  for (const k of schema.secret) if (!secret[k]) throw bad(`no ${k}`)
  for (const [k, t] of Object.entries(schema.data)) if (!fieldOk(data[k], t)) throw bad(`${k} is not ${t.replace('?', '')}`)
  return { kind: record.kind, source: record.source, secret: secret as Record<string, string>, data }
}
