import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Clock } from '../kernel/clock.js'
import { systemClock } from '../kernel/clock.js'
import { ConfigStore, type StoreBackend } from '../kernel/config.js'
import { guardConfigDir } from '../kernel/config-dir.js'
import { Credentials } from '../tokens/credentials.js'
import { sharedWaitMs, TokenService } from '../tokens/service.js'
import { NonInteractiveError, SecretStoreError, UsageError } from '../kernel/errors.js'
import { validateProfileName } from '../kernel/profile.js'
import { redactUrlsIn } from '../kernel/redact.js'
import { cleanLines } from '../kernel/sanitize.js'
import { TokenCache } from '../tokens/token-cache.js'
import type { HttpClient } from '../providers/http.js'
import type { ProviderContext } from '../providers/types.js'
import type { SecretStore } from '../store/types.js'
import { fleetKeyFrom, type SharedCache } from '../tokens/shared-cache.js'
import type { IO } from './io.js'
import { createInquirerPrompter, type Prompter } from './prompter.js'
import type { GlobalOptions, Handoff } from './settings.js'

export type { GlobalOptions } from './settings.js'

export type Env = Readonly<Record<string, string | undefined>>

/** Overrides for tests (gh cmdutil.Factory): any dependency can be swapped. */
export interface ContextOverrides {
  clock?: Clock
  prompter?: Prompter
  stores?: Partial<Record<StoreBackend, SecretStore>>
  platform?: NodeJS.Platform
  /** The fast path: tokens only from the cache (CacheMissError otherwise). */
  cacheOnly?: boolean
  /** What the fast path already asked for in this process (the full CLI taking over). */
  handoff?: Handoff
}

export type StorePreference = 'auto' | StoreBackend

/** Connect and command timeout of the shared cache: a slow Redis must not slow every call much. */
export const SHARED_CACHE_TIMEOUT_MS = 1500

/**
 * Everything side-effecting, created on first use so that a cached `token` loads neither the
 * HTTP client nor the prompt library nor the keychain binding unless it needs them.
 */
export class CliContext {
  readonly clock: Clock
  readonly platform: NodeJS.Platform
  globals: GlobalOptions = { profile: 'default', json: false, verbose: false, color: true }
  /** Set by commands that exit with something other than 0 without an error (exec). */
  exitCode = 0
  private cfg?: ConfigStore
  private tokenCache?: TokenCache
  private httpClient?: Promise<HttpClient>
  private prompterImpl?: Prompter
  private tokenService?: TokenService
  private credentialStore?: Credentials
  private readonly stores = new Map<StoreBackend, Promise<SecretStore>>()
  private shared?: Promise<SharedCache | undefined>
  private dirGuarded = false
  /** A passphrase typed at the prompt in this run (handed to the full CLI by the fast path). */
  private typed?: string

  constructor(
    readonly env: Env,
    readonly io: IO,
    private readonly overrides: ContextOverrides = {},
  ) {
    this.clock = overrides.clock ?? systemClock
    this.platform = overrides.platform ?? process.platform
  }

  /** Prompting is allowed only with a TTY on stdin and CI unset. */
  get interactive(): boolean {
    return this.io.stdinIsTTY && !this.env.CI
  }

  get profile(): string {
    return validateProfileName(this.globals.profile)
  }

  configDir(): string {
    if (this.env.AUTHCTL_CONFIG_DIR) return this.env.AUTHCTL_CONFIG_DIR
    if (this.platform === 'win32' && this.env.APPDATA) return join(this.env.APPDATA, 'authctl')
    const base = this.env.XDG_CONFIG_HOME || join(this.env.HOME || homedir(), '.config')
    return join(base, 'authctl')
  }

  /** The config dir, checked once per run before first use (owner, group/other-writable). */
  private ourDir(): string {
    const dir = this.configDir()
    if (!this.dirGuarded) {
      guardConfigDir(dir, (l) => this.warn(l))
      this.dirGuarded = true
    }
    return dir
  }

  config(): ConfigStore {
    this.cfg ??= new ConfigStore(this.ourDir())
    return this.cfg
  }

  cache(): TokenCache {
    this.tokenCache ??= new TokenCache(this.ourDir())
    return this.tokenCache
  }

  /** Stored logins and environment credentials (lookup and secret writes). */
  credentials(): Credentials {
    this.credentialStore ??= new Credentials({ config: this.config(), openStore: (b) => this.openStore(b), env: this.env })
    return this.credentialStore
  }

  tokens(): TokenService {
    this.tokenService ??= new TokenService({
      credentials: this.credentials(),
      cache: this.cache(),
      lockDir: join(this.ourDir(), 'locks'),
      clock: this.clock,
      providerContext: () => this.providerContext(),
      debug: (l) => this.debug(l),
      warn: (l) => this.warn(l),
      shared: () => this.sharedCache(),
      fleetKey: () => this.fleetKey(),
      sharedWaitMs: sharedWaitMs(this.env),
      ...(this.overrides.cacheOnly ? { cacheOnly: true } : {}),
    })
    return this.tokenService
  }

  /** AUTHCTL_CACHE_KEY, checked (exit 2 when missing or shorter than 32 bytes). */
  fleetKey(): Buffer {
    return fleetKeyFrom(this.env.AUTHCTL_CACHE_KEY)
  }

  /** AUTHCTL_CACHE, validated (redis:// or rediss://, with a fleet key), or undefined. */
  sharedCacheUrl(): string | undefined {
    const raw = this.env.AUTHCTL_CACHE
    if (!raw) return undefined
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new UsageError('AUTHCTL_CACHE is not a URL', { hint: 'use redis://[user:password@]host:port[/db] or rediss://…' })
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new UsageError(`AUTHCTL_CACHE must be a redis:// or rediss:// URL, got ${url.protocol}//…`, { hint: 'use redis://[user:password@]host:port[/db]' })
    }
    this.fleetKey()
    return raw
  }

  /**
   * The fleet-wide token cache, connected on first use (store/resp.ts loads only then). Unreachable:
   * one warning line, then undefined, so the local cache and lock take over.
   */
  sharedCache(): Promise<SharedCache | undefined> {
    this.shared ??= (async () => {
      const url = this.sharedCacheUrl()
      if (!url) return undefined
      const { connectRedis } = await import('../store/redis.js')
      try {
        return await connectRedis(url, SHARED_CACHE_TIMEOUT_MS)
      } catch (err) {
        this.warn(`${(err as Error).message}; using the local cache and lock`)
        return undefined
      }
    })()
    return this.shared
  }

  /** AUTHCTL_STORE, validated: where new logins are stored. */
  storePreference(): StorePreference {
    const v = (this.env.AUTHCTL_STORE || 'auto').toLowerCase()
    if (v === 'auto' || v === 'keychain' || v === 'file' || v === 'memory') return v
    throw new UsageError(`AUTHCTL_STORE=${JSON.stringify(v)} is not one of auto, keychain, file, memory`)
  }

  /**
   * The store new logins go to, checked (it answers and is unlocked) before anything the user
   * would have to type again. `auto` means the keychain if it answers, else exit 6 with the fix.
   */
  async storeForNewLogin(): Promise<SecretStore> {
    const pref = this.storePreference()
    const store = await this.openStore(pref === 'auto' ? 'keychain' : pref)
    if (pref !== 'auto') {
      await store.check()
      return store
    }
    try {
      await store.check()
    } catch (err) {
      // Two lines: what is wrong and the two ways out (doctor's fix); the D-Bus detail is --verbose.
      const { keychainFix } = await import('../store/keychain.js')
      const locked = /did not answer/.test((err as Error).message)
      const why = locked
        ? 'it did not answer in time; it may be locked'
        : this.platform === 'linux'
          ? "no Secret Service on this session's D-Bus"
          : 'it is unavailable'
      throw new SecretStoreError(`no OS keychain to keep the secret in (${why})`, { hint: keychainFix(this.platform), cause: err })
    }
    return store
  }

  openStore(backend: StoreBackend): Promise<SecretStore> {
    let s = this.stores.get(backend)
    if (!s) {
      s = this.createStore(backend)
      this.stores.set(backend, s)
    }
    return s
  }

  private async createStore(backend: StoreBackend): Promise<SecretStore> {
    const injected = this.overrides.stores?.[backend]
    if (injected) return injected
    if (backend === 'memory') return (await import('../store/memory.js')).createMemoryStore()
    if (backend === 'keychain') return (await import('../store/keychain.js')).createKeychainStore({ platform: this.platform })
    const { createFileStore } = await import('../store/file.js')
    return createFileStore({
      dir: this.ourDir(),
      passphrase: async ({ creating }) => {
        const given = this.env.AUTHCTL_PASSPHRASE || this.overrides.handoff?.passphrase
        if (given) return given
        if (!this.interactive) {
          throw new NonInteractiveError('the file store needs a passphrase', { hint: 'set AUTHCTL_PASSPHRASE (or run in a terminal to be asked)' })
        }
        const p = await this.prompter().password('Passphrase for the authctl secret file')
        if (creating) {
          const again = await this.prompter().password('Repeat the passphrase')
          if (again !== p) throw new UsageError('the passphrases do not match; nothing was stored')
        }
        if (!p) throw new UsageError('the passphrase is empty')
        this.typed = p
        return p
      },
    })
  }

  typedPassphrase(): string | undefined {
    return this.typed
  }

  timeoutMs(): number {
    const raw = this.env.AUTHCTL_TIMEOUT
    if (raw === undefined || raw === '') return 30_000
    const n = Number(raw)
    if (!Number.isFinite(n) || n <= 0 || n > 3600) {
      throw new UsageError(`AUTHCTL_TIMEOUT=${JSON.stringify(raw)} is not a number of seconds between 0 and 3600`)
    }
    return n * 1000
  }

  http(): Promise<HttpClient> {
    this.httpClient ??= import('../providers/http.js').then((m) =>
      m.createHttpClient({ timeoutMs: this.timeoutMs(), env: this.env, debug: (l) => this.debug(l) }),
    )
    return this.httpClient
  }

  prompter(): Prompter {
    this.prompterImpl ??= this.overrides.prompter ?? createInquirerPrompter({ interactive: this.interactive })
    return this.prompterImpl
  }

  providerContext(): ProviderContext {
    return {
      http: () => this.http(),
      clock: this.clock,
      env: this.env,
      prompter: this.prompter(),
      debug: (l) => this.debug(l),
      warn: (l) => this.warn(l),
      info: (l) => this.info(l),
    }
  }

  /** Message lines may carry server text: control characters and ESC sequences are removed. */
  debug(line: string): void {
    if (this.globals.verbose) this.io.err(`debug: ${redactUrlsIn(cleanLines(line))}\n`)
  }

  warn(line: string): void {
    this.io.err(`warning: ${redactUrlsIn(cleanLines(line))}\n`)
  }

  /** Progress and instructions; not URL-redacted (it prints the authorize URL to open). */
  info(line: string): void {
    this.io.err(`${cleanLines(line)}\n`)
  }

  async dispose(): Promise<void> {
    if (this.httpClient) await (await this.httpClient.catch(() => undefined))?.close()
    if (this.shared) await (await this.shared.catch(() => undefined))?.close()
  }
}
