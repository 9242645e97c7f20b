import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Clock } from '../kernel/clock.js'
import { systemClock } from '../kernel/clock.js'
import { ConfigStore, type StoreBackend } from '../kernel/config.js'
import { guardConfigDir } from '../kernel/config-dir.js'
import { Credentials } from '../tokens/credentials.js'
import { sharedWaitMs, TokenService } from '../tokens/service.js'
import { UsageError } from '../kernel/errors.js'
import { validateProfileName } from '../kernel/profile.js'
import { redactUrlsIn } from '../kernel/redact.js'
import { cleanLines } from '../kernel/sanitize.js'
import { TokenCache } from '../tokens/token-cache.js'
import type { HttpClient } from '../providers/http.js'
import type { ProviderContext } from '../providers/types.js'
import type { SecretStore } from '../store/types.js'
import type { IO } from './io.js'
import { createInquirerPrompter, type Prompter } from './prompter.js'
import { Fleet, type FleetMemory } from './fleet.js'
import type { Env, GlobalOptions } from './settings.js'
import { Stores } from './stores.js'

export type { GlobalOptions } from './settings.js'

export type { Env } from './settings.js'

/** Overrides for tests (gh cmdutil.Factory): any dependency can be swapped. */
export interface ContextOverrides {
  clock?: Clock
  prompter?: Prompter
  stores?: Partial<Record<StoreBackend, SecretStore>>
  platform?: NodeJS.Platform
  /** What the process remembers about the shared cache between calls (the library). */
  fleetMemory?: FleetMemory
}

export type { StorePreference } from './stores.js'

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
  private dirGuarded = false
  /** The secret stores: AUTHCTL_STORE, the store for new logins, each backend opened once. */
  readonly stores: Stores
  /** The shared cache: AUTHCTL_CACHE and its fleet key, and the connection. */
  readonly fleet: Fleet

  constructor(
    readonly env: Env,
    readonly io: IO,
    private readonly overrides: ContextOverrides = {},
  ) {
    this.clock = overrides.clock ?? systemClock
    this.platform = overrides.platform ?? process.platform
    this.stores = new Stores({
      env,
      platform: this.platform,
      dir: () => this.ourDir(),
      interactive: () => this.interactive,
      prompter: () => this.prompter(),
      warn: (l) => this.warn(l),
      ...(overrides.stores ? { injected: overrides.stores } : {}),
    })
    this.fleet = new Fleet(env, (l) => this.warn(l), overrides.fleetMemory)
  }

  /**
   * Prompting is allowed only with a TTY on stdin and on stderr (where prompts are written: with
   * `2>/dev/null` a prompt would be invisible and the command would seem to hang), and CI unset.
   */
  get interactive(): boolean {
    return this.io.stdinIsTTY && this.io.stderrIsTTY && !this.env.CI
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
    this.credentialStore ??= new Credentials({ config: this.config(), openStore: (b) => this.stores.open(b), env: this.env })
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
      shared: () => this.fleet.cache(),
      fleetKey: () => this.fleet.key(),
      sharedWaitMs: sharedWaitMs(this.env),
    })
    return this.tokenService
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
    this.prompterImpl ??= this.overrides.prompter ?? createInquirerPrompter({ interactive: this.interactive, color: () => this.globals.color })
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
    await this.fleet.close()
  }
}
