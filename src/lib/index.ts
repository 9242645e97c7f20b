import type { MinTtl } from '../tokens/service.js'
import { createHash } from 'node:crypto'
import { execVars } from '../cli/commands/exec.js'
import { minTtlOf, target } from '../cli/commands/common.js'
import { CliContext, type Env } from '../cli/context.js'
import type { FleetMemory } from '../cli/fleet.js'
import type { IO } from '../cli/io.js'
import type { StoreBackend } from '../kernel/config.js'
import { AuthctlError, ExitCode, SecretStoreError, UsageError } from '../kernel/errors.js'
import { createFileStore } from '../store/file.js'
import { createKeychainStore } from '../store/keychain.js'
import { createMemoryStore } from '../store/memory.js'
import type { SecretStore } from '../store/types.js'
import type * as Api from './public.js'

export { AuthctlError, ExitCode }

/**
 * Opened secret stores, kept for the life of the process: the file store derives its key with
 * scrypt (~20 ms) once per passphrase, so a cached getToken stays at a few milliseconds. Keyed
 * by everything a store depends on; stores hold no sockets or timers, so nothing here keeps
 * the process alive. (Network clients are per call and closed after it.)
 */
const openStores = new Map<string, SecretStore>()

function storeFor(backend: StoreBackend, env: Env, dir: string): SecretStore {
  const pass = env.AUTHCTL_PASSPHRASE ?? ''
  const id = `${backend}\0${dir}\0${backend === 'file' ? createHash('sha256').update(pass).digest('hex') : ''}`
  let store = openStores.get(id)
  if (!store) {
    store = createStore(backend, dir, pass)
    openStores.set(id, store)
  }
  return store
}

function createStore(backend: StoreBackend, dir: string, pass: string): SecretStore {
  if (backend === 'keychain') return createKeychainStore({ platform: process.platform })
  if (backend === 'memory') return createMemoryStore()
  return createFileStore({
    dir,
    // A library never prompts: a locked file store is a store error (exit 6), not a question.
    passphrase: async () => {
      if (pass) return pass
      throw new SecretStoreError('the authctl secret file is locked: AUTHCTL_PASSPHRASE is not set', {
        hint: 'set AUTHCTL_PASSPHRASE in the environment of this Node process',
      })
    },
  })
}

/**
 * The shared cache (AUTHCTL_CACHE) as this process last found it: a Redis that failed is left
 * alone for FLEET_RETRY_AFTER_MS instead of costing every call its connect timeout.
 */
const fleetMemory: FleetMemory = { retryAt: new Map() }

/**
 * Warnings already emitted by this process: a long-running service calls getToken again and
 * again, and the same warning (an unreachable shared cache, a clamped minTtl) once is enough, as
 * with Node's own deprecation warnings. Bounded, in case the texts vary.
 */
const warned = new Set<string>()

/** Warnings (e.g. an unreachable shared cache) become process warnings, each once; nothing else is printed. */
function libraryIO(): IO {
  return {
    out: () => undefined,
    err: (text) => {
      const line = text.replace(/^warning: /, '').trimEnd()
      if (!line || warned.has(line)) return
      if (warned.size >= 100) warned.clear() // texts that vary: forget, rather than fall silent
      warned.add(line)
      process.emitWarning(line, 'AuthctlWarning')
    },
    stdinIsTTY: false,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    readStdin: () => Promise.reject(new UsageError('the authctl library does not read stdin')),
    readStdinLine: () => Promise.reject(new UsageError('the authctl library does not read stdin')),
  }
}

/**
 * One call's context over the current process.env: never interactive, stores from the process
 * cache; its HTTP client and shared-cache connection are closed when the call ends.
 */
async function withContext<T>(profile: string | undefined, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const env: Env = { ...process.env }
  const stores: Partial<Record<StoreBackend, SecretStore>> = {}
  const call = new CliContext(env, libraryIO(), { stores, fleetMemory })
  for (const b of ['file', 'keychain', 'memory'] as const) {
    Object.defineProperty(stores, b, { enumerable: true, get: () => storeFor(b, env, call.configDir()) })
  }
  call.globals = { profile: profile ?? env.AUTHCTL_PROFILE ?? 'default', json: false, verbose: false, color: false }
  try {
    return await fn(call)
  } catch (err) {
    throw asAuthctlError(err)
  } finally {
    await call.dispose().catch(() => undefined)
  }
}

/** Anything unexpected is still an AuthctlError (exit 1), so callers need one catch. */
function asAuthctlError(err: unknown): AuthctlError {
  if (err instanceof AuthctlError) return err
  return new AuthctlError(`unexpected error: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
}

/** The longest `minTtl`, as for `--min-ttl` (seven digits of seconds). */
const MAX_MIN_TTL = 9_999_999

/** `minTtl` in seconds (a whole number, like --min-ttl), else AUTHCTL_MIN_TTL, else 300. */
function ttlOf(ctx: CliContext, minTtl: number | undefined): MinTtl {
  if (minTtl !== undefined && (!Number.isInteger(minTtl) || minTtl < 0 || minTtl > MAX_MIN_TTL)) {
    throw new UsageError(`minTtl must be a whole number of seconds from 0 to ${MAX_MIN_TTL}, got ${String(minTtl).slice(0, 40)}`)
  }
  return minTtlOf(ctx, minTtl === undefined ? undefined : String(minTtl), 'minTtl')
}

type Kind = 'string' | 'number' | 'boolean' | 'string[]'
const TOKEN_OPTIONS: Record<keyof Api.TokenOptions, Kind> = { profile: 'string', scope: 'string', minTtl: 'number', forceRefresh: 'boolean' }
const ENV_OPTIONS: Record<keyof Api.EnvOptions, Kind> = { profile: 'string', providers: 'string[]', scopes: 'string[]', minTtl: 'number' }
const KIND_NAME: Record<Kind, string> = { string: 'a string', number: 'a number', boolean: 'a boolean', 'string[]': 'an array of strings' }
const got = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v)

/**
 * The arguments a JavaScript caller passed, checked against the published types (exit 2 naming
 * the argument): the types cannot stop `null`, a number for a name, or a misspelt option.
 */
function checkArgs<T extends object>(opts: unknown, kinds: Record<string, Kind>, provider?: { value: unknown }): T {
  if (provider && (typeof provider.value !== 'string' || !provider.value)) {
    throw new UsageError(`provider must be a provider name such as 'lucidworks', got ${got(provider.value)}`)
  }
  if (opts === undefined) return {} as T
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new UsageError(`options must be an object, got ${got(opts)}`)
  for (const [name, value] of Object.entries(opts)) {
    const kind = kinds[name]
    if (!kind) throw new UsageError(`unknown option ${name.slice(0, 40)} (one of ${Object.keys(kinds).join(', ')})`)
    const ok = kind === 'string[]' ? Array.isArray(value) && value.every((v) => typeof v === 'string') : typeof value === kind
    if (value !== undefined && !ok) throw new UsageError(`${name} must be ${KIND_NAME[kind]}, got ${got(value)}`)
  }
  return opts as T
}

async function freshToken(ctx: CliContext, provider: string, opts: Api.TokenOptions) {
  const t = target(ctx, provider)
  const minTtl = ttlOf(ctx, opts.minTtl)
  const cred = await ctx.credentials().resolve(t.provider, t.ref)
  const token = await ctx.tokens().getToken(t.provider, t.ref, cred, { scope: opts.scope, ...minTtl, forceRefresh: Boolean(opts.forceRefresh) })
  return { provider: t.provider, cred, token }
}

export const getToken: typeof Api.getToken = async (provider, options) => {
  const opts = checkArgs<Api.TokenOptions>(options, TOKEN_OPTIONS, { value: provider })
  return withContext(opts.profile, async (ctx) => {
    const { token } = await freshToken(ctx, provider, opts)
    return { accessToken: token.accessToken, tokenType: token.tokenType ?? 'Bearer', expiresAt: token.expiresAt ?? null, scopes: [...(token.scopes ?? [])] }
  })
}

/** Same lines as `token --format header`, as an object for fetch(). */
export const getHeaders: typeof Api.getHeaders = async (provider, options) => {
  const opts = checkArgs<Api.TokenOptions>(options, TOKEN_OPTIONS, { value: provider })
  return withContext(opts.profile, async (ctx) => {
    const { provider: p, cred, token } = await freshToken(ctx, provider, opts)
    const headers: Record<string, string> = {}
    for (const line of p.headerLines(cred, token)) {
      const at = line.indexOf(': ')
      headers[line.slice(0, at)] = line.slice(at + 2)
    }
    return headers
  })
}

export const getEnv: typeof Api.getEnv = async (options) => {
  const opts = checkArgs<Api.EnvOptions>(options, ENV_OPTIONS)
  return withContext(opts.profile, (ctx) => execVars(ctx, { providers: opts.providers ?? [], scopes: opts.scopes ?? [], minTtl: ttlOf(ctx, opts.minTtl) }))
}

/** Fails the typecheck if the published declarations (public.d.ts) stop describing these values. */
type Assert<T extends true> = T
export type PublicSurfaceMatches = Assert<
  typeof AuthctlError extends typeof Api.AuthctlError ? (typeof ExitCode extends typeof Api.ExitCode ? true : false) : false
>
