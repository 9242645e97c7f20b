import { createHash, randomBytes, scryptSync } from 'node:crypto'
import type { ConfigStore, StoreBackend } from '../kernel/config.js'
import { AuthRequiredError, UsageError } from '../kernel/errors.js'
import { type ProfileRef, profileSuffix } from '../kernel/profile.js'
import type { Credential } from '../kernel/types.js'
import { envHint, parseStored } from '../providers/descriptor.js'
import { trimLineEnd } from '../providers/inputs.js'
import type { Provider } from '../providers/types.js'
import type { SecretStore } from '../store/types.js'
import { accountFor } from '../store/types.js'

/** Secret field holding the random key that encrypts a stored login's cached tokens. */
const CACHE_KEY_FIELD = 'cacheKey'

/**
 * A provider's environment credential that is only partly set (e.g. LUCIDWORKS_CLIENT_ID without
 * LUCIDWORKS_CLIENT_SECRET): the variables present and those missing. Undefined when the
 * environment holds a complete credential or none of its variables.
 */
export function halfSetEnv(provider: Provider, env: Readonly<Record<string, string | undefined>>): { set: string[]; missing: string[] } | undefined {
  const { clean } = credentialEnv(provider, env)
  if (provider.fromEnv(clean)) return undefined
  for (const group of provider.env.credentials) {
    const set = group.filter((v) => clean[v])
    if (set.length > 0 && set.length < group.length) return { set, missing: group.filter((v) => !clean[v]) }
  }
  return undefined
}

const listVars = (vars: readonly string[]) => vars.join(' and ')

export interface CredentialsDeps {
  config: ConfigStore
  openStore(backend: StoreBackend): Promise<SecretStore>
  env: Readonly<Record<string, string | undefined>>
}

/** "A is set but B is not", "A and B are set but C is not": what halfSetEnv found. */
export function halfSetText(half: { set: string[]; missing: string[] }): string {
  return `${listVars(half.set)} ${half.set.length > 1 ? 'are' : 'is'} set but ${listVars(half.missing)} ${half.missing.length > 1 ? 'are' : 'is'} not`
}

/** No login, and an environment credential with a variable missing: names the missing one. */
export function halfSetError(provider: Provider, profile: string, half: { set: string[]; missing: string[] }): AuthRequiredError {
  return new AuthRequiredError(`${halfSetText(half)}, and profile ${profile} has no ${provider.displayName} login`, {
    hint: `set ${listVars(half.missing)} too, or run \`authctl login ${provider.id}${profileSuffix(profile)}\``,
  })
}

/**
 * The environment as a provider's credential reads it: its credential variables without their
 * trailing line breaks (sent on in a header or form field they made a 401 whose hint named the
 * very variables that were set), and the first variable left with a line break or NUL inside.
 */
function credentialEnv(provider: Provider, env: Readonly<Record<string, string | undefined>>) {
  let clean = env
  let broken: string | undefined
  for (const name of new Set(provider.env.credentials.flat())) {
    const value = env[name]
    if (value === undefined) continue
    const trimmed = trimLineEnd(value)
    if (trimmed !== value) clean = { ...clean, [name]: trimmed }
    if (/[\r\n\0]/.test(trimmed)) broken ??= name
  }
  return { clean, broken }
}

/**
 * A provider's environment credential, if the environment holds one (every place that asks
 * reads it the same way: token, status, exec, doctor, login's and logout's warnings).
 */
export function envCredential(provider: Provider, env: Readonly<Record<string, string | undefined>>): Credential | undefined {
  return provider.fromEnv(credentialEnv(provider, env).clean)
}

/**
 * envCredential for a command that sends it: a credential with a line break or NUL inside one
 * of its variables is exit 2 naming the variable, never its value. A variable of an incomplete
 * set is left alone, as it is when no set is complete (a stored login serves).
 */
export function checkedEnvCredential(provider: Provider, env: Readonly<Record<string, string | undefined>>): Credential | undefined {
  const { clean, broken } = credentialEnv(provider, env)
  const cred = provider.fromEnv(clean)
  if (cred && broken && provider.env.credentials.some((set) => set.includes(broken) && set.every((v) => clean[v])))
    throw new UsageError(`${broken} contains a line break or NUL`, { hint: `set ${broken} to its value alone, on one line` })
  return cred
}

/**
 * Where a profile's credential comes from (environment variables win and never touch the store)
 * and where a login's secret fields go: the lookup and the writes, nothing about tokens.
 */
export class Credentials {
  constructor(private readonly d: CredentialsDeps) {}

  /** The profile's credential; environment variables win and never touch the store. */
  async resolve(provider: Provider, ref: ProfileRef): Promise<Credential> {
    return checkedEnvCredential(provider, this.d.env) ?? this.resolveStored(provider, ref, true)
  }

  /** The stored login only (ignoring the environment); undefined when there is none. */
  async resolveStored(provider: Provider, ref: ProfileRef): Promise<Credential | undefined>
  async resolveStored(provider: Provider, ref: ProfileRef, required: true): Promise<Credential>
  async resolveStored(provider: Provider, ref: ProfileRef, required = false): Promise<Credential | undefined> {
    const record = this.d.config.get(ref)
    if (!record && !required) return undefined
    if (!record) {
      const half = halfSetEnv(provider, this.d.env)
      if (half) throw halfSetError(provider, ref.profile, half)
      throw new AuthRequiredError(`not logged in to ${provider.displayName} (profile ${ref.profile})`, {
        hint: `run \`authctl login ${provider.id}${profileSuffix(ref.profile)}\` or set ${envHint(provider)}`,
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
        hint: `run \`authctl login ${provider.id}${profileSuffix(ref.profile)}\` again`,
      })
    }
    return parseStored(provider, ref.profile, { kind: record.kind, source: record.store, secret, data: record.data })
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
