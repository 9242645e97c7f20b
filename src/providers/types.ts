import type { Clock } from '../kernel/clock.js'
import type { Credential, Prompter, TokenSet } from '../kernel/types.js'
import type { HttpClient } from './http.js'

export type { Credential, CredentialSource, TokenSet } from '../kernel/types.js'

/** Dependencies a provider may use; everything side-effecting is passed in. */
export interface ProviderContext {
  /** The HTTP client; created (and undici loaded) on first call. */
  http(): Promise<HttpClient>
  clock: Clock
  env: Readonly<Record<string, string | undefined>>
  prompter: Prompter
  /** A debug line for --verbose (stderr); never pass a secret. */
  debug(line: string): void
  /** A warning on stderr. */
  warn(line: string): void
  /** A progress or instruction line on stderr (e.g. the URL to open). */
  info(line: string): void
}

/** What a renewal produced: the new token, and secret fields that changed (rotated refresh token). */
export interface IssueResult {
  token: TokenSet
  /** Stored before the token is handed out, so that a crash cannot lose a rotated grant. */
  secretUpdate?: Record<string, string>
}

/** A flag of `authctl login` or `authctl keys …` that a provider accepts. */
export interface FlagSpec {
  /** commander flag spec, e.g. `--client-id <id>`. */
  flags: string
  /** What it does, for this provider (help and completion show it next to the provider's name). */
  help: string
  /** The variable that supplies the same value without the flag (named in help and errors). */
  env?: string
  /** Repeatable (collects into an array). */
  repeatable?: boolean
}

/** A key flag, and the `keys` subcommands that take it (all four when absent). */
export interface KeyFlagSpec extends FlagSpec {
  ops?: ReadonlyArray<'create' | 'list' | 'revoke' | 'rotate'>
  /** Required by these operations: its absence is exit 2 (with this hint) before any secret is read. */
  required?: { hint: string }
}

/** The environment a provider reads and writes. */
export interface EnvSpec {
  /** Prefix of its `exec` variables: `LUPA` → `LUPA_HEADERS_FILE`. */
  prefix: string
  /**
   * The sets of variables that together make an environment credential (any one set is enough),
   * so that a half-set one (an id without its secret) can be named instead of "not logged in".
   */
  credentials: ReadonlyArray<readonly string[]>
  /** Variables that only go with a credential set (context, company id), named in hints. */
  extras?: readonly string[]
  /** Login-secret variables: removed from an `exec` child's environment and masked. */
  secrets: readonly string[]
}

/** An endpoint and the variable that overrides it; the first one is what `doctor` probes. */
export interface Endpoint {
  variable: string
  url: string
  /** What it is, for help and `doctor` (e.g. `token URL`, `API`). */
  label: string
}

/** Field types of stored non-secret login data; `?` marks optional ones. */
export type FieldType = 'string' | 'string?' | 'string[]' | 'string[]?' | 'boolean?' | 'number?'

/**
 * What a stored login of each kind holds: its secret fields (all required unless listed in
 * `optionalSecret`) and its typed non-secret data. A stored login that does not match is refused
 * with "log in again" (exit 4) before the provider sees it.
 */
export type StoredSchema = Readonly<
  Record<string, { secret: readonly string[]; optionalSecret?: readonly string[]; data: Readonly<Record<string, FieldType>> }>
>

/** Parsed `login` flags plus the non-interactive helpers the adapter may need. */
export interface LoginInput {
  options: Readonly<Record<string, unknown>>
  /** Reads the rest of stdin once (for `--*-stdin` flags). */
  readStdin(): Promise<string>
  /** Reads stdin's next line, or undefined at its end, leaving the rest unread. */
  readStdinLine(): Promise<string | undefined>
  /** True when prompting is allowed (stdin is a TTY and CI is unset). */
  interactive: boolean
}

/** The result of a successful login: what to store, and tokens fetched while verifying. */
export interface LoginResult {
  kind: string
  secret: Record<string, string>
  data: Record<string, unknown>
  /** Tokens obtained during verification, cached under their slot. */
  tokens?: ReadonlyArray<{ slot: string; token: TokenSet }>
  /** One line for stderr, e.g. "Logged in to Lucidworks as client ****abcd". */
  summary: string
}

export interface Provider {
  /** Canonical id, e.g. `lucidworks`; used in config keys, JSON output and keychain accounts. */
  readonly id: string
  readonly aliases: readonly string[]
  readonly displayName: string
  /** `authctl login …` flags this provider accepts (validated, completed, shown per provider in help). */
  readonly loginFlags: readonly FlagSpec[]
  readonly env: EnvSpec
  /** Endpoints and their override variables (`doctor` probes the first). */
  readonly endpoints: readonly Endpoint[]
  /** Scopes it documents (completion, help, "did you mean"), and the default one, if it has scopes. */
  readonly scopes?: {
    readonly known: readonly string[]
    readonly default?: string
    /** `token --scope S` gets a token for S (a cache slot per scope); otherwise a login has one token. */
    readonly perToken?: boolean
  }
  /** The typed shape of its stored logins, checked on every read. */
  readonly stored: StoredSchema
  /** A login's own `exec` prefix, when logins choose one (default `env.prefix`). */
  envPrefixFor?(cred: Credential): string | undefined
  /** A stored login's own endpoint URL for `doctor`, when logins choose it (`oauth2 --token-url`; default `endpoints[0]`). */
  endpointFor?(data: Readonly<Record<string, unknown>>): string | undefined

  /** Credentials from environment variables, or undefined when they are not (fully) set. */
  fromEnv(env: Readonly<Record<string, string | undefined>>): Credential | undefined

  /**
   * How a token for `scope` (undefined: the login's default) is obtained from `cred`: see TokenPlan.
   * The decision is the provider's; caching, locking and sharing are the token service's.
   */
  plan(cred: Credential, scope: string | undefined): TokenPlan
  /**
   * The scopes `exec` and `env` fill, given `--scope` values (possibly empty); one token each.
   * Absent: one token, the login's default (execScopesOf).
   */
  execScopes?(cred: Credential, scopes: readonly string[]): Array<string | undefined>
  /** `token --api-key`: the long-lived key a session login keeps (LupaSearch API key, Haut.ai private token). */
  keyToken?(cred: Credential): TokenSet

  login(input: LoginInput, ctx: ProviderContext): Promise<LoginResult>
  /** Provider-side clean-up before `logout` deletes local state (Lucid revokes its OAuth grant). */
  logout?(cred: Credential, ctx: ProviderContext): Promise<void>
  /** Identity as a flat JSON object (without provider/profile, which the caller adds). */
  whoami(cred: Credential, token: TokenSet, ctx: ProviderContext): Promise<Record<string, unknown>>

  /** Header lines for `token --format header`. */
  headerLines(cred: Credential, token: TokenSet): string[]
  /** Variables for `exec` / `token --format env`: one token per scope from `execScopes`. */
  envVars(cred: Credential, tokens: ReadonlyArray<{ scope: string | undefined; token: TokenSet }>): Record<string, string>

  /**
   * The long-lived key or token a login keeps (saved with `keys create --save`, or logged in
   * with one), read from the login's non-secret data only, so `status` and `doctor` need no
   * secret. Undefined when the login holds none.
   */
  storedKey?(kind: string, data: Readonly<Record<string, unknown>>): StoredKey | undefined

  /** Present iff the provider has a key-management API. */
  readonly keys?: KeyManager
  /** Where keys are managed instead, for the exit-7 message when `keys` is absent. */
  readonly keysElsewhere?: string
}

/**
 * One token request, as the provider decides it:
 * - `static`: the credential is its own token (API key, stored token); no cache, no network.
 * - `renewable`: a token kept in cache slot `slot`, renewed by `renew` under the slot's lock.
 * - `cache-only`: a cached token in `slot` that cannot be renewed unattended (a password login
 *   made with `--no-store-password`, an OAuth login without a refresh token): served until it expires.
 */
export type TokenPlan =
  | { readonly kind: 'static'; token(): TokenSet }
  | { readonly kind: 'renewable'; readonly slot: string; renew(ctx: ProviderContext): Promise<IssueResult> }
  | { readonly kind: 'cache-only'; readonly slot: string }

/** A long-lived key or token kept in a stored login, for expiry tracking. */
export interface StoredKey {
  /** What it is, for messages: `private token`, `API key`, `token`. */
  label: string
  /** The provider's id of the key, when known (keys saved with `--save`). */
  id?: string
  /** ISO-8601 expiry when known (from the provider, or `login … --expires`). */
  expiresAt?: string
  /** Known never to expire (the provider said so, or `login … --expires never`). */
  never?: true
  /** The secret field of the login that holds it. */
  field: string
  /** A runnable next step that replaces it once it has expired. */
  replaceHint: string
  /**
   * What `token` and `exec` do once it has expired when the login renews without it (Haut.ai
   * with a stored password), for doctor's message; absent when they refuse it (exit 4).
   */
  afterExpiry?: string
}

/** A long-lived key as listed; never carries the secret. */
export interface ApiKey {
  id: string
  name: string
  maskedKey: string
  expiresAt: string | null
  access?: string
}

/** A key just created: listed fields, its secret (shown once), and the provider's raw object. */
export interface CreatedKey extends ApiKey {
  secret: string
  raw: Record<string, unknown>
}

/** Options of `keys create|list|revoke` as parsed (camelCase), only those given. */
export type KeyOptions = Readonly<Record<string, unknown>>

export interface KeyManager {
  /** `keys` flags this provider accepts; others are exit 2. */
  readonly flags: readonly KeyFlagSpec[]
  create(cred: Credential, token: TokenSet, opts: KeyOptions, ctx: ProviderContext): Promise<CreatedKey>
  list(cred: Credential, token: TokenSet, opts: KeyOptions, ctx: ProviderContext): Promise<ApiKey[]>
  /** Unknown id → NotFoundError (exit 3). */
  revoke(cred: Credential, token: TokenSet, id: string, opts: KeyOptions, ctx: ProviderContext): Promise<void>
  /**
   * `keys rotate`: the existing key `id` (unknown → NotFoundError) and the `create` options that
   * make a replacement with the same name/description, access and index scope.
   */
  replacementOf(cred: Credential, token: TokenSet, id: string, opts: KeyOptions, ctx: ProviderContext): Promise<{ old: ApiKey; options: KeyOptions }>
  /** Checks that a just-created key works (`token`: the login's, for management calls); throws (exit 4/5) when not. */
  verify(cred: Credential, token: TokenSet, key: CreatedKey, opts: KeyOptions, ctx: ProviderContext): Promise<void>
  /** How `--save` stores a created key in the profile: secret fields and non-secret data to merge. */
  save(key: CreatedKey): { secret: Record<string, string>; data: Record<string, unknown> }
}
