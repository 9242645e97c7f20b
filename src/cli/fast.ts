import { maskWanted } from './ci.js'
import { runExec } from './commands/exec.js'
import { runToken, TOKEN_FORMATS, type TokenFormat } from './commands/token.js'
import { CliContext } from './context.js'
import { quietClosedPipes } from './epipe.js'
import { createProcessIO } from './io.js'
import { reportError } from './report.js'
import { globalsFrom, tokenFormatOf } from './settings.js'

/**
 * The start-up path for `token` and `exec` (PERF.md: commander and the full bundle cost ~24 ms
 * of CPU at every start): bin/authctl.js answers `--version` itself and sends every other
 * command straight to the full CLI. It runs the same runToken/runExec as the full CLI, cached or
 * renewing, and reports errors with the same reportError. Argv outside its small grammar — an
 * unknown or `=` flag, help, --verbose, --keep-fresh, a bad --format — returns undefined before
 * anything is read or written, and bin/authctl.js hands the same argv to the full CLI, which
 * parses it with commander.
 */
export async function runFast(argv: readonly string[]): Promise<number | undefined> {
  quietClosedPipes()
  const parsed = parse(argv)
  if (!parsed) return undefined
  const format = tokenFormatOf(parsed.json, parsed.format)
  if (parsed.command === 'token' && !(TOKEN_FORMATS as readonly string[]).includes(format)) return undefined
  const io = createProcessIO()
  const ctx = new CliContext(process.env, io)
  ctx.globals = globalsFrom({ profile: parsed.profile, json: parsed.json, color: parsed.color }, process.env, io.stderrIsTTY)
  try {
    ctx.fleet.url() // a shared cache's settings, checked as the full CLI does before any command
    if (parsed.command === 'token') {
      const { provider, scope, minTtl, forceRefresh, apiKey } = parsed
      await runToken({ provider: provider as string, scope: scope[0], format: format as TokenFormat, minTtl, forceRefresh, apiKey }, ctx)
    } else {
      await runExec({ providers: parsed.providers, scopes: parsed.scope, minTtl: parsed.minTtl, mask: maskWanted(ctx, parsed.mask), command: parsed.rest }, ctx)
    }
    return ctx.exitCode
  } catch (err) {
    return reportError(err, ctx)
  } finally {
    await ctx.dispose().catch(() => undefined)
  }
}

interface Parsed {
  command: 'token' | 'exec'
  provider?: string
  profile?: string
  json: boolean
  format?: string
  minTtl?: string
  scope: string[]
  providers: string[]
  apiKey: boolean
  forceRefresh: boolean
  /** false for --no-color */
  color: boolean
  /** --mask → true, --no-mask → false, neither → undefined (the CI default decides). */
  mask?: boolean
  rest: string[]
}

/** One flag of the fast grammar into `p`; false for anything outside it (the full CLI decides). */
function takeFlag(p: Parsed, a: string, value: () => string | undefined): boolean {
  switch (a) {
    case '--profile': {
      const v = value()
      if (v === undefined) return false
      p.profile = v
      break
    }
    case '--json':
      p.json = true
      break
    case '--no-color':
      p.color = false
      break
    case '--force-refresh':
      p.forceRefresh = true
      break
    case '--format':
    case '--min-ttl':
    case '--scope':
    case '--provider': {
      const v = value()
      if (v === undefined) return false
      if (a === '--format') p.format = v
      else if (a === '--min-ttl') p.minTtl = v
      else if (a === '--scope') p.scope.push(v)
      else p.providers.push(v)
      break
    }
    case '--api-key':
      p.apiKey = true
      break
    case '--mask':
    case '--no-mask':
      p.mask = a === '--mask'
      break
    default:
      return false
  }
  return true
}

/** The root program's options (program.ts); every other flag belongs to a subcommand. */
const ROOT_FLAGS = new Set(['--profile', '--json', '--no-color'])

/** A strict subset of the commander grammar; anything outside it means "use the full CLI". */
function parse(argv: readonly string[]): Parsed | undefined {
  const p: Parsed = { command: 'token', json: false, scope: [], providers: [], apiKey: false, forceRefresh: false, color: true, rest: [] }
  let command: string | undefined
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const value = () => {
      const v = argv[++i]
      return v === undefined || v.startsWith('-') ? undefined : v
    }
    if (a === '--') {
      if (command !== 'exec') return undefined
      p.rest = argv.slice(i + 1) as string[]
      break
    }
    if (!a.startsWith('-')) {
      if (command === undefined) command = a
      else positionals.push(a)
      continue
    }
    // Before the command word only the root options (commander's rule; e.g. `--force-refresh
    // token X` is a usage error there, so it must not renew here).
    if (command === undefined && !ROOT_FLAGS.has(a)) return undefined
    if (!takeFlag(p, a, value)) return undefined
  }
  if (command === 'token') {
    if (positionals.length !== 1 || p.providers.length || p.mask !== undefined || p.scope.length > 1) return undefined
    p.provider = positionals[0]
    return p
  }
  if (command === 'exec') {
    if (positionals.length || p.rest.length === 0 || p.apiKey || p.forceRefresh || p.format !== undefined || p.json) return undefined
    p.command = 'exec'
    return p
  }
  return undefined
}
