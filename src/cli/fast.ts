import { maskWanted } from './ci.js'
import { runExec } from './commands/exec.js'
import { runToken, TOKEN_FORMATS, type TokenFormat } from './commands/token.js'
import { CliContext } from './context.js'
import { quietClosedPipes } from './epipe.js'
import { createProcessIO } from './io.js'
import { globalsFrom, type Handoff, tokenFormatOf } from './settings.js'

/**
 * The start-up fast path (PERF.md: commander and the full bundle cost ~12 ms of a ~22 ms floor).
 * It handles `token`/`exec` when every token comes from the cache (bin/authctl.js answers
 * `--version` itself and sends every other command straight to the full CLI), by running
 * the same runToken/runExec in cache-only mode. Anything else — an unknown or `=` flag, help,
 * --verbose, a renewal, any error — returns a Handoff before any output or side effect, and
 * bin/authctl.js hands the same argv (and the Handoff) to the full CLI.
 */
export async function runFast(argv: readonly string[]): Promise<number | Handoff> {
  quietClosedPipes()
  const parsed = parse(argv)
  // With a shared cache, Redis is authoritative; the fast path only knows the local cache.
  if (!parsed || process.env.AUTHCTL_CACHE) return {}
  const io = createProcessIO()
  const ctx = new CliContext(process.env, io, { cacheOnly: true })
  ctx.globals = globalsFrom({ profile: parsed.profile, json: parsed.json, color: false }, process.env, false)
  try {
    if (parsed.command === 'token') {
      const format = tokenFormatOf(parsed.json, parsed.format) as TokenFormat
      if (!(TOKEN_FORMATS as readonly string[]).includes(format)) return {}
      await runToken(
        { provider: parsed.provider as string, scope: parsed.scope[0], format, minTtl: parsed.minTtl, forceRefresh: false, apiKey: parsed.apiKey },
        ctx,
      )
    } else {
      await runExec({ providers: parsed.providers, scopes: parsed.scope, minTtl: parsed.minTtl, mask: maskWanted(ctx, parsed.mask), command: parsed.rest }, ctx)
    }
    return ctx.exitCode
  } catch {
    // A renewal is needed (CacheMissError) or anything failed: the full CLI takes over and
    // reports errors in its one documented way, without asking again for a typed passphrase.
    const passphrase = ctx.stores.typedPassphrase()
    return passphrase === undefined ? {} : { passphrase }
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

/** A strict subset of the commander grammar; anything outside it means "use the full CLI". */
function parse(argv: readonly string[]): Parsed | undefined {
  const p: Parsed = { command: 'token', json: false, scope: [], providers: [], apiKey: false, rest: [] }
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
    if (!takeFlag(p, a, value)) return undefined
  }
  if (command === 'token') {
    if (positionals.length !== 1 || p.providers.length || p.mask !== undefined || p.scope.length > 1) return undefined
    p.provider = positionals[0]
    return p
  }
  if (command === 'exec') {
    if (positionals.length || p.rest.length === 0 || p.apiKey || p.format !== undefined || p.json) return undefined
    p.command = 'exec'
    return p
  }
  return undefined
}
