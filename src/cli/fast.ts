import { CacheMissError } from '../tokens/service.js'
import { maskWanted } from './ci.js'
import { runExec } from './commands/exec.js'
import { runToken, TOKEN_FORMATS, type TokenFormat } from './commands/token.js'
import { CliContext } from './context.js'
import { quietClosedPipes } from './epipe.js'
import { createProcessIO } from './io.js'
import { VERSION } from './version.js'

/**
 * The start-up fast path (PERF.md: commander and the full bundle cost ~12 ms of a ~22 ms floor).
 * It handles `--version`, and `token`/`exec` when every token comes from the cache, by running
 * the same runToken/runExec in cache-only mode. Anything else — an unknown or `=` flag, help,
 * --verbose, a renewal, any error — returns undefined before any output or side effect, and
 * bin/authctl.js hands the same argv to the full CLI.
 */
export async function runFast(argv: readonly string[]): Promise<number | undefined> {
  quietClosedPipes()
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  const parsed = parse(argv)
  // With a shared cache, Redis is authoritative; the fast path only knows the local cache.
  if (!parsed || process.env.AUTHCTL_CACHE) return undefined
  const io = createProcessIO()
  const ctx = new CliContext(process.env, io, { cacheOnly: true })
  ctx.globals = { profile: parsed.profile ?? process.env.AUTHCTL_PROFILE ?? 'default', json: parsed.json, verbose: false, color: false }
  try {
    if (parsed.command === 'token') {
      // Same rule as the full CLI: --json turns the default (raw) format into json.
      const format = (parsed.json && (parsed.format ?? 'raw') === 'raw' ? 'json' : (parsed.format ?? 'raw')) as TokenFormat
      if (!(TOKEN_FORMATS as readonly string[]).includes(format)) return undefined
      await runToken(
        { provider: parsed.provider as string, scope: parsed.scope[0], format, minTtl: parsed.minTtl, forceRefresh: false, apiKey: parsed.apiKey },
        ctx,
      )
    } else {
      await runExec({ providers: parsed.providers, scopes: parsed.scope, minTtl: parsed.minTtl, mask: maskWanted(ctx, parsed.mask), command: parsed.rest }, ctx)
    }
    return ctx.exitCode
  } catch (err) {
    if (err instanceof CacheMissError) return undefined
    return undefined // any error: the full CLI reports it in its one documented way
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
    switch (a) {
      case '--profile': {
        const v = value()
        if (v === undefined) return undefined
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
        if (v === undefined) return undefined
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
        return undefined
    }
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
