import { envPrefix, execScopesOf } from '../providers/descriptor.js'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import type { GetTokenOptions, MinTtl } from '../tokens/service.js'
import { cacheKeyMaterial } from '../tokens/credentials.js'
import { ProviderHttpError } from '../kernel/errors.js'
import { pidAlive } from '../kernel/fsutil.js'
import type { ProfileRef } from '../kernel/profile.js'
import type { Credential, Provider, TokenSet } from '../providers/types.js'
import { isSecretVar } from './mask.js'

/** One provider of an `exec --keep-fresh` run, with the tokens the child starts with. */
export interface FreshSource {
  provider: Provider
  ref: ProfileRef
  cred: Credential
  /** `--scope` values given to exec (possibly none). */
  scopes: readonly string[]
  tokens: Array<{ scope: string | undefined; token: TokenSet }>
}

/** What keep-fresh needs from the CLI context (CliContext satisfies it). */
export interface KeepFreshDeps {
  env: Readonly<Record<string, string | undefined>>
  tokens(): { getToken(provider: Provider, ref: ProfileRef, cred: Credential, opts: GetTokenOptions): Promise<TokenSet> }
  cache(): { readonly dir: string; read(ref: ProfileRef, slot: string, keyMaterial: Buffer): TokenSet | undefined }
  warn(line: string): void
  debug(line: string): void
}

/** How often tokens are checked (a local cache read, no network unless a renewal is due). */
const TICK_MS = 1000
const MAX_BACKOFF_MS = 30_000
const DIR_PREFIX = 'authctl-'

interface SourceState extends FreshSource {
  prefix: string
  /** slot → access token last written to the files. */
  written: Map<string, string>
  failures: number
  retryAt: number
  lastError?: string
  material?: Buffer
}

/**
 * `exec --keep-fresh`: token files and header files in a private directory, kept fresh while the
 * child runs. Renewals go through the TokenService (cache, lock, shared cache), so a fleet still
 * makes one request per scope; renewals by other processes are picked up from the cache.
 */
export class KeepFresh {
  /** Variables for the child: the current token variables plus every `*_FILE` variable. */
  readonly vars: Record<string, string> = {}
  private readonly sources: SourceState[]
  private readonly secretListeners: Array<(secret: string) => void> = []
  private timer?: NodeJS.Timeout
  private watchers: FSWatcher[] = []
  private busy = false
  private stopped = false

  constructor(
    readonly dir: string,
    sources: readonly FreshSource[],
    private readonly minTtl: MinTtl,
    private readonly d: KeepFreshDeps,
  ) {
    this.sources = sources.map((s) => ({ ...s, prefix: envPrefix(s.provider, s.cred), written: new Map(), failures: 0, retryAt: 0 }))
    for (const s of this.sources) this.write(s, s.tokens)
  }

  /** Starts the renewal tick and the cache watchers. */
  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS)
    for (const s of this.sources) {
      if (s.provider.plan(s.cred, undefined).kind === 'cache-only') {
        this.d.warn(`${s.provider.displayName}: cannot renew without a stored password; the files keep the current token until it expires`)
      }
      const dir = join(this.d.cache().dir, 'cache', s.ref.provider, s.ref.profile)
      if (!existsSync(dir)) continue
      try {
        // A renewal by another process (e.g. --force-refresh) is followed at once, not at the next tick.
        this.watchers.push(watch(dir, { persistent: false }, () => this.adoptFromCache(s)))
      } catch {
        /* no inotify: the tick follows within a second */
      }
    }
  }

  /** `fn` is called with every token value written from now on (for --mask). */
  onSecret = (fn: (secret: string) => void): void => {
    this.secretListeners.push(fn)
  }

  /** Stops renewing and removes the directory (idempotent). */
  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    for (const w of this.watchers) w.close()
    this.watchers = []
    try {
      rmSync(this.dir, { recursive: true, force: true })
    } catch (err) {
      this.d.warn(`could not remove ${this.dir}: ${(err as Error).message}`)
    }
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return
    this.busy = true
    try {
      for (const s of this.sources) {
        if (this.stopped) return
        if (Date.now() >= s.retryAt && s.provider.plan(s.cred, undefined).kind !== 'cache-only') await this.refresh(s)
      }
    } finally {
      this.busy = false
    }
  }

  /** Each slot through getToken with the early threshold: a cache read, or one renewal under the lock. */
  private async refresh(s: SourceState): Promise<void> {
    try {
      const tokens: FreshSource['tokens'] = []
      for (const scope of execScopesOf(s.provider, s.cred, s.scopes)) {
        const onIssued = (t: TokenSet) =>
          this.write(
            s,
            s.tokens.map((x) => (x.scope === scope ? { scope, token: t } : x)),
          )
        const token = await this.d.tokens().getToken(s.provider, s.ref, s.cred, { scope, ...this.minTtl, renewEarly: true, onIssued })
        tokens.push({ scope, token })
      }
      this.write(s, tokens)
      if (s.failures > 0) this.d.warn(`${s.provider.displayName}: keep-fresh has a fresh token again`)
      s.failures = 0
      s.lastError = undefined
    } catch (err) {
      s.failures++
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(s.failures, 5))
      s.retryAt = Date.now() + delay
      const msg = err instanceof Error ? err.message : String(err)
      if (msg !== s.lastError)
        this.d.warn(`${s.provider.displayName}: keep-fresh could not renew the token: ${msg}; retrying (the child keeps the current one)`)
      s.lastError = msg
      this.d.debug(`keep-fresh: next ${s.provider.id} attempt in ${delay / 1000} s`)
    }
  }

  /** A token another process put in the local cache, written to the files if newer and valid. */
  private adoptFromCache(s: SourceState): void {
    if (this.stopped) return
    try {
      s.material ??= cacheKeyMaterial(s.cred) // once: for an env password it is an scrypt
      const material = s.material
      const tokens = s.tokens.map((x) => {
        const plan = s.provider.plan(s.cred, x.scope)
        const cached = plan.kind === 'static' ? undefined : this.d.cache().read(s.ref, plan.slot, material)
        const newer = cached && (cached.obtainedAt ?? 0) > (x.token.obtainedAt ?? 0) && (cached.expiresAt ?? Infinity) > Date.now()
        return newer ? { scope: x.scope, token: cached } : x
      })
      this.write(s, tokens)
    } catch {
      /* the tick will do it */
    }
  }

  /** Rewrites a provider's files when any of its tokens changed (each file atomically). */
  private write(s: SourceState, incoming: FreshSource['tokens']): void {
    if (this.stopped) return
    // Never back to an older token: a renewal by another process may have landed meanwhile.
    const tokens = incoming.map((t) => {
      const cur = s.tokens.find((x) => x.scope === t.scope)
      return cur && (cur.token.obtainedAt ?? 0) > (t.token.obtainedAt ?? 0) ? cur : t
    })
    const changed = tokens.some((t) => s.written.get(t.scope ?? '') !== t.token.accessToken)
    if (!changed) return
    const vars = s.provider.envVars(s.cred, tokens)
    const first = tokens[0]
    const headers = first ? s.provider.headerLines(s.cred, first.token) : []
    // A line break in a value would smuggle a header into the child's requests.
    if ([...Object.values(vars), ...headers].some((v) => /[\0-\x1f\x7f]/.test(v))) {
      throw new ProviderHttpError(`${s.provider.displayName}: malformed token (control characters); nothing written`)
    }
    for (const [name, value] of Object.entries(vars)) {
      if (!isSecretVar(name)) continue
      this.vars[`${name}_FILE`] = this.put(name, value)
    }
    this.vars[`${s.prefix}_HEADERS_FILE`] = this.put(`${s.prefix}_HEADERS`, headers.map((l) => `${l}\n`).join(''))
    for (const [name, value] of Object.entries(vars)) this.vars[name] ??= value
    s.tokens = tokens
    for (const t of tokens) {
      if (s.written.get(t.scope ?? '') !== t.token.accessToken) for (const fn of this.secretListeners) fn(t.token.accessToken)
      s.written.set(t.scope ?? '', t.token.accessToken)
    }
  }

  /** Writes one 0600 file by temp file + rename (a reader sees the old or the new, never half). */
  private put(name: string, content: string): string {
    const file = join(this.dir, name)
    const tmp = join(this.dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`)
    writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' })
    renameSync(tmp, file)
    return file
  }
}

/**
 * Creates the private directory (0700, in $XDG_RUNTIME_DIR when set, else the temp dir), writes
 * the files, and starts keeping them fresh. Synchronous: nothing can interrupt it half-way.
 */
export function startKeepFresh(deps: KeepFreshDeps, sources: readonly FreshSource[], minTtl: MinTtl): KeepFresh {
  const base = baseDir(deps.env)
  sweepOrphans(base)
  const dir = mkdtempSync(join(base, `${DIR_PREFIX}${process.pid}-`))
  chmodSync(dir, 0o700)
  try {
    const keeper = new KeepFresh(dir, sources, minTtl, deps)
    keeper.start()
    return keeper
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

function baseDir(env: KeepFreshDeps['env']): string {
  const run = env.XDG_RUNTIME_DIR
  if (run && isAbsolute(run) && existsSync(run)) return run
  return env.TMPDIR && isAbsolute(env.TMPDIR) ? env.TMPDIR : tmpdir()
}

/** Directories left by a keep-fresh run that was killed (kill -9) are removed: they hold tokens. */
function sweepOrphans(base: string): void {
  let names: string[]
  try {
    names = readdirSync(base)
  } catch {
    return
  }
  const uid = process.getuid?.()
  for (const name of names) {
    const m = name.startsWith(DIR_PREFIX) ? /^authctl-(\d+)-[A-Za-z0-9]{6}$/.exec(name) : null
    if (!m || pidAlive(Number(m[1]))) continue
    try {
      const st = lstatSync(join(base, name))
      if (st.isDirectory() && (uid === undefined || st.uid === uid)) rmSync(join(base, name), { recursive: true, force: true })
    } catch {
      /* gone already, or not ours */
    }
  }
}
