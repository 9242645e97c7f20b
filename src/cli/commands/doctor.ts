import type { Command } from 'commander'
import { lstatSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { StoreBackend } from '../../kernel/config.js'
import { type AuthctlError, ExitCode, type ExitCodeValue } from '../../kernel/errors.js'
import { isStale } from '../../kernel/lock.js'
import { redactUrlsIn } from '../../kernel/redact.js'
import { cleanText } from '../../kernel/sanitize.js'
import { checkProviderUrl } from '../../providers/http.js'
import { allProviders } from '../../providers/registry.js'
import { keychainFix } from '../../store/keychain.js'
import type { CliContext } from '../context.js'
import { printJson } from '../output.js'
import { checkedEnvCredential, envCredential, halfSetEnv, halfSetText } from '../../tokens/credentials.js'
import { sharedCacheStatus } from './status.js'

export interface CheckResult {
  name: string
  status: 'pass' | 'fail' | 'warn'
  detail: string
  fix?: string
  /** The exit code this problem causes in a normal command. */
  exit_code?: ExitCodeValue
}

/** Beyond this, expiry arithmetic is wrong by more than the renewal window. */
const SKEW_FAIL_MS = 300_000
const SKEW_WARN_MS = 60_000

export function registerDoctor(parent: Command, ctx: CliContext): Command {
  return parent
    .command('doctor')
    .description('check what can go wrong before it does: store, permissions, endpoints, clock, locks')
    .addHelpText(
      'after',
      `
Exit 0 when every check passes (warnings included, e.g. a stored key expiring within 14 days);
otherwise the code the first failure would cause in a normal command (2 config dir, 6 secret
store, 4 expired key, 5 endpoint or clock). --json prints the checks either way.

Examples:
  authctl doctor
  AUTHCTL_STORE=file AUTHCTL_PASSPHRASE=… authctl doctor --json | jq '.checks[] | select(.status != "pass")'`,
    )
    .action(async () => runDoctor(ctx))
}

/**
 * The paths under the config dir that group or others may read or write, and those that cannot be
 * read. A link to a file is judged by that file (authctl reads through it); a link to a directory
 * is not walked (it may be `/`), and a dangling one, or a file a running authctl renamed
 * meanwhile, is skipped.
 */
function scanConfigDir(dir: string): { open: string[]; unreadable: Array<{ path: string; code: string }> } {
  const open: string[] = []
  /** With the reason: EACCES, or ELOOP for a link that points at itself. */
  const unreadable: Array<{ path: string; code: string }> = []
  const gone = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT'
  const walk = (p: string, top: boolean) => {
    let st: import('node:fs').Stats
    let names: string[] = []
    try {
      st = top ? statSync(p) : lstatSync(p)
      if (st.isSymbolicLink()) {
        st = statSync(p)
        if (!st.isFile()) return
      } else if (st.isDirectory()) names = readdirSync(p)
    } catch (err) {
      if (!gone(err)) unreadable.push({ path: p, code: (err as NodeJS.ErrnoException)?.code ?? 'error' })
      return
    }
    if ((st.mode & 0o077) !== 0) open.push(p)
    for (const n of names) walk(join(p, n), false)
  }
  walk(dir, true)
  return { open, unreadable }
}

/** `configError`: why the profile index cannot be read, if it cannot (loaded once by the caller). */
function configDirCheck(ctx: CliContext, configError: Error | undefined): CheckResult {
  const dir = ctx.configDir()
  let st: import('node:fs').Stats
  try {
    st = statSync(dir)
  } catch {
    return { name: 'config dir', status: 'pass', detail: `${dir} does not exist yet (created 0700 on first login)` }
  }
  if (!st.isDirectory())
    return {
      name: 'config dir',
      status: 'fail',
      detail: `${dir} is not a directory`,
      fix: 'point AUTHCTL_CONFIG_DIR at a directory',
      exit_code: ExitCode.Usage,
    }
  const { open, unreadable } = scanConfigDir(dir)
  const [first] = unreadable
  if (first) {
    return {
      name: 'config dir',
      status: 'fail',
      detail: `cannot read ${first.path} (${first.code})`,
      // Only a link that leads nowhere is worth removing; a file here may hold the logins.
      fix: first.code === 'ELOOP' ? `remove the link ${first.path}` : `make ${dir} and everything in it yours and readable by you (chmod -R u+rwX ${dir})`,
      exit_code: ExitCode.Usage,
    }
  }
  if (open.length) {
    return {
      name: 'config dir',
      status: 'fail',
      detail: `${open.length} path(s) readable by group or others, e.g. ${open[0]}`,
      fix: `chmod -R go= ${dir}`,
      exit_code: ExitCode.Usage,
    }
  }
  if (configError) {
    return {
      name: 'config dir',
      status: 'fail',
      detail: configError.message,
      fix: (configError as AuthctlError).hint ?? 'fix the file',
      exit_code: ExitCode.Usage,
    }
  }
  return { name: 'config dir', status: 'pass', detail: `${dir}: 0700, files 0600, config readable` }
}

async function storeChecks(ctx: CliContext): Promise<CheckResult[]> {
  const used = new Set<StoreBackend>(
    ctx
      .config()
      .list()
      .map((r) => r.store),
  )
  let pref: string
  try {
    pref = ctx.stores.preference()
  } catch (err) {
    return [
      {
        name: 'secret store',
        status: 'fail',
        detail: (err as Error).message,
        fix: 'set AUTHCTL_STORE to auto, keychain, file or memory',
        exit_code: ExitCode.Usage,
      },
    ]
  }
  // With the default preference and no login kept in it, only a future `login` needs the
  // keychain: environment credentials (CI) and file-store logins work without one.
  const onlyForNewLogins = pref === 'auto' && !used.has('keychain')
  if (pref === 'auto' || pref === 'keychain') used.add('keychain')
  if (pref === 'file') used.add('file')
  const out: CheckResult[] = []
  if (used.has('keychain')) out.push(await keychainCheck(ctx, onlyForNewLogins))
  if (used.has('file')) out.push(await fileStoreCheck(ctx))
  return out
}

/** The keychain answers and is unlocked; `onlyForNewLogins`: no login is kept in it (a warning then). */
async function keychainCheck(ctx: CliContext, onlyForNewLogins: boolean): Promise<CheckResult> {
  try {
    await (await ctx.stores.open('keychain')).check()
    return { name: 'keychain', status: 'pass', detail: 'the OS keychain answers and is unlocked (a probe item was written and deleted)' }
  } catch (err) {
    const detail = (err as Error).message
    if (!onlyForNewLogins) return { name: 'keychain', status: 'fail', detail, fix: keychainFix(ctx.platform), exit_code: ExitCode.Store }
    return {
      name: 'keychain',
      status: 'warn',
      detail: `${detail}; no login here is kept in it, so only a new \`login\` needs it (environment credentials never do)`,
      fix: keychainFix(ctx.platform), // the same words as a login's error (it names AUTHCTL_STORE=file too)
    }
  }
}

/** The file store opens with AUTHCTL_PASSPHRASE (not checked without it: doctor never prompts). */
async function fileStoreCheck(ctx: CliContext): Promise<CheckResult> {
  if (!ctx.env.AUTHCTL_PASSPHRASE) {
    return {
      name: 'file store',
      status: 'warn',
      detail: 'not checked: AUTHCTL_PASSPHRASE is not set (doctor never prompts)',
      fix: 'set AUTHCTL_PASSPHRASE to check it',
    }
  }
  try {
    await (await ctx.stores.open('file')).get('__doctor__')
    return { name: 'file store', status: 'pass', detail: 'the encrypted file store opens with AUTHCTL_PASSPHRASE' }
  } catch (err) {
    return { name: 'file store', status: 'fail', detail: (err as Error).message, fix: (err as AuthctlError).hint ?? '', exit_code: ExitCode.Store }
  }
}

/**
 * Credentials in the environment, read as `token` reads them: a variable with a line break
 * inside fails (exit 2, as `token` would), half a set warns (the stored login serves, if any).
 * No check when no provider's variable is set.
 */
function environmentCheck(ctx: CliContext): CheckResult | undefined {
  const found: string[] = []
  for (const p of allProviders()) {
    try {
      if (checkedEnvCredential(p, ctx.env)) found.push(p.id)
    } catch (err) {
      return { name: 'environment', status: 'fail', detail: (err as Error).message, fix: (err as AuthctlError).hint ?? '', exit_code: ExitCode.Usage }
    }
  }
  for (const p of allProviders()) {
    const half = halfSetEnv(p, ctx.env)
    if (!half) continue
    return {
      name: 'environment',
      status: 'warn',
      detail: `${halfSetText(half)}: ${p.displayName} ignores them and uses a stored login, if any`,
      fix: `set ${half.missing.join(' and ')} too, or unset ${half.set.join(' and ')}`,
    }
  }
  return found.length ? { name: 'environment', status: 'pass', detail: `credentials from the environment for ${found.join(', ')}` } : undefined
}

/** Endpoints of providers that have credentials (profiles or env) or an override variable. */
async function endpointChecks(ctx: CliContext): Promise<{ checks: CheckResult[]; skewMs?: number; skewFrom?: string }> {
  const records = ctx.config().list()
  const stored = new Set(records.map((r) => r.provider))
  const targets = allProviders().filter((p) => stored.has(p.id) || envCredential(p, ctx.env) || p.endpoints.some((e) => ctx.env[e.variable]))
  // A provider whose login chooses its endpoint (oauth2): the active profile's login, else the first.
  const loginEndpoint = (p: (typeof targets)[number]) => {
    const r = records.find((x) => x.provider === p.id && x.profile === ctx.profile) ?? records.find((x) => x.provider === p.id)
    return r && p.endpointFor ? p.endpointFor(r.data) : undefined
  }
  const checks: CheckResult[] = []
  if (targets.length === 0) return { checks: [{ name: 'endpoints', status: 'pass', detail: 'no provider configured yet; nothing to reach' }] }
  const { createHttpClient } = await import('../../providers/http.js')
  const http = await createHttpClient({ timeoutMs: Math.min(ctx.timeoutMs(), 10_000), retries: 0, env: ctx.env, debug: (l) => ctx.debug(l) })
  let skewMs: number | undefined
  let skewFrom: string | undefined
  try {
    for (const p of targets) {
      const ep = p.endpoints[0]
      if (!ep) continue
      const raw = ctx.env[ep.variable] || loginEndpoint(p) || ep.url
      if (!raw) continue
      const name = `endpoint ${p.id}`
      let url: URL
      try {
        url = checkProviderUrl(raw, ep.variable)
      } catch (err) {
        checks.push({ name, status: 'fail', detail: (err as Error).message, fix: `fix or unset ${ep.variable}`, exit_code: ExitCode.Usage })
        continue
      }
      const t0 = Date.now()
      try {
        const res = await http.request({ method: 'GET', url: url.toString() })
        checks.push({ name, status: 'pass', detail: `${url.host} answered HTTP ${res.status} in ${Date.now() - t0} ms` })
        const date = Date.parse(res.headers.date ?? '')
        if (skewMs === undefined && !Number.isNaN(date)) {
          skewMs = date - (t0 + Date.now()) / 2
          skewFrom = url.host
        }
      } catch (err) {
        checks.push({
          name,
          status: 'fail',
          detail: (err as Error).message,
          fix: (err as AuthctlError).hint ?? 'check the network',
          exit_code: ExitCode.Provider,
        })
      }
    }
  } finally {
    await http.close()
  }
  return { checks, ...(skewMs === undefined ? {} : { skewMs, skewFrom }) }
}

function clockCheck(skewMs: number | undefined, from: string | undefined): CheckResult {
  if (skewMs === undefined) return { name: 'clock', status: 'warn', detail: 'not checked: no provider answered with a Date header' }
  const s = Math.round(Math.abs(skewMs) / 1000)
  const detail = `local clock is ${s} s ${skewMs > 0 ? 'behind' : 'ahead of'} ${from}`
  if (Math.abs(skewMs) > SKEW_FAIL_MS)
    return {
      name: 'clock',
      status: 'fail',
      detail,
      fix: 'sync the clock (timedatectl set-ntp true); token expiry is computed locally',
      exit_code: ExitCode.Provider,
    }
  if (Math.abs(skewMs) > SKEW_WARN_MS) return { name: 'clock', status: 'warn', detail, fix: 'sync the clock (timedatectl set-ntp true)' }
  return { name: 'clock', status: 'pass', detail }
}

/** Stored keys expiring within this are a `warn`. */
export const KEY_WARN_DAYS = 14

/** The stored keys of every profile: expired is a failure (exit 4), expiring soon a warning. */
function keyChecks(ctx: CliContext): CheckResult[] {
  const now = ctx.clock.now()
  const out: CheckResult[] = []
  let known = 0
  for (const r of ctx.config().list()) {
    const provider = allProviders().find((p) => p.id === r.provider)
    const k = provider?.storedKey?.(r.kind, r.data)
    const at = k?.expiresAt ? Date.parse(k.expiresAt) : Number.NaN
    if (!provider || !k || Number.isNaN(at)) continue
    known++
    const day = new Date(at).toISOString().slice(0, 10)
    const what = `profile ${r.profile}, ${provider.id} ${k.label}${k.id ? ` ${k.id}` : ''}`
    const name = `key ${r.provider}/${r.profile}`
    if (at <= now) {
      // An expired key fails (CONTRACT: exit 4), saying truly what token and exec do meanwhile.
      const meanwhile = k.afterExpiry ?? 'token and exec refuse it'
      out.push({ name, status: 'fail', detail: `${what} expired on ${day}; ${meanwhile}`, fix: k.replaceHint, exit_code: ExitCode.Auth })
    } else if (at - now <= KEY_WARN_DAYS * 86_400_000) {
      out.push({ name, status: 'warn', detail: `${what} expires on ${day} (in ${Math.max(1, Math.ceil((at - now) / 86_400_000))} days)`, fix: k.replaceHint })
    }
  }
  if (out.length === 0) {
    out.push({
      name: 'key expiry',
      status: 'pass',
      detail: known ? `${known} stored key(s) with a known expiry, none expiring within ${KEY_WARN_DAYS} days` : 'no stored key with a known expiry',
    })
  }
  return out
}

function lockCheck(ctx: CliContext): CheckResult {
  const dir = join(ctx.configDir(), 'locks')
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.lock'))
  } catch {
    names = []
  }
  const stale = names.map((n) => join(dir, n)).filter((p) => isStale(p, 30_000))
  if (stale.length === 0) return { name: 'locks', status: 'pass', detail: names.length ? `${names.length} lock(s) held by running processes` : 'no locks held' }
  return {
    name: 'locks',
    status: 'warn',
    detail: `${stale.length} lock(s) left by dead processes (taken over automatically on next use): ${stale.join(', ')}`,
    fix: `rm ${stale.join(' ')}`,
  }
}

export async function runDoctor(ctx: CliContext): Promise<void> {
  let configError: Error | undefined
  try {
    ctx.config().load()
  } catch (err) {
    configError = err as Error
  }
  const env = environmentCheck(ctx)
  const checks: CheckResult[] = [configDirCheck(ctx, configError), ...(env ? [env] : [])]
  // The other checks need the profile index; a corrupt one is reported by the config dir check.
  if (!configError) {
    checks.push(...(await storeChecks(ctx)))
    checks.push(...keyChecks(ctx))
    const ep = await endpointChecks(ctx)
    checks.push(...ep.checks, clockCheck(ep.skewMs, ep.skewFrom))
  }
  checks.push(lockCheck(ctx))
  const shared = await sharedCacheStatus(ctx).catch((err: AuthctlError) => {
    checks.push({ name: 'shared cache', status: 'fail', detail: err.message, fix: err.hint ?? 'fix AUTHCTL_CACHE', exit_code: err.exitCode ?? ExitCode.Usage })
    return null
  })
  if (shared) {
    checks.push(
      shared.reachable
        ? { name: 'shared cache', status: 'pass', detail: `${shared.url} answers` }
        : {
            name: 'shared cache',
            status: 'warn',
            detail: `${shared.error}; runners fall back to their local cache and lock`,
            fix: 'check AUTHCTL_CACHE (host, port, password) and that Redis is up',
          },
    )
  }
  // Details quote servers (a Redis error, an endpoint's answer) and URLs: data, never terminal input.
  for (const c of checks) {
    c.detail = redactUrlsIn(cleanText(c.detail))
    if (c.fix) c.fix = redactUrlsIn(cleanText(c.fix))
  }
  const failed = checks.filter((c) => c.status === 'fail')
  ctx.exitCode = failed[0]?.exit_code ?? (failed.length ? ExitCode.Internal : ExitCode.Ok)
  if (ctx.globals.json) {
    printJson(ctx.io, { ok: failed.length === 0, checks })
  } else {
    const mark = { pass: 'ok  ', fail: 'FAIL', warn: 'warn' }
    const lines = checks.map((c) => `${mark[c.status]}  ${c.name}: ${c.detail}${c.fix && c.status !== 'pass' ? `\n      fix: ${c.fix}` : ''}`)
    ctx.io.out(`${lines.join('\n')}\n`)
  }
  if (failed.length) ctx.io.err(`authctl: ${failed.length} check(s) failed\nhint: apply the fixes above, then run \`authctl doctor\` again\n`)
}
