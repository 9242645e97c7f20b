import type { MinTtl } from '../../tokens/service.js'
import type { Command } from 'commander'
import { UsageError } from '../../kernel/errors.js'
import type { Credential, Provider, TokenSet } from '../../providers/types.js'
import { secretValues } from '../../exec/mask.js'
import { registerMasks } from '../ci.js'
import type { CliContext } from '../context.js'
import { formatVars } from '../env-format.js'
import { isoOrNull, listNames, printJson } from '../output.js'
import { tokenFormatOf } from '../settings.js'
import { execScopesOf } from '../../providers/descriptor.js'
import { allProviders } from '../../providers/registry.js'
import { minTtlOf, target, type Target } from './common.js'

export const TOKEN_FORMATS = ['raw', 'json', 'header', 'env', 'dotenv', 'powershell'] as const
export type TokenFormat = (typeof TOKEN_FORMATS)[number]
/** `--format` values that print variables (the ones `exec` sets) rather than the token. */
const VAR_FORMATS = { env: 'sh', dotenv: 'dotenv', powershell: 'powershell' } as const

export interface TokenOptions {
  provider: string
  scope?: string
  format: TokenFormat
  minTtl?: string
  forceRefresh: boolean
  /** LupaSearch: print the stored API key instead of the JWT. */
  apiKey: boolean
}

export function registerToken(parent: Command, ctx: CliContext, runF = runToken): Command {
  return parent
    .command('token')
    .description('print a fresh access token (cached until less than --min-ttl seconds remain)')
    .argument('<provider>', 'provider id or alias')
    .option(
      '--scope <scope>',
      `scope of the token (${listNames(
        allProviders()
          .filter((p) => p.scopes?.perToken)
          .map((p) => p.displayName),
      )}; default: from the login)`,
    )
    .option('--format <format>', 'raw | json | header | env | dotenv | powershell', 'raw')
    .option('--min-ttl <seconds>', 'renew when fewer seconds remain (default 300, env AUTHCTL_MIN_TTL)')
    .option('--force-refresh', 'renew even if the cached token is fresh')
    .option(
      '--api-key',
      `print the stored long-lived key instead of the session token (${listNames(
        allProviders()
          .filter((p) => p.keyToken)
          .map((p) => p.displayName),
      )})`,
    )
    .addHelpText(
      'after',
      `
stdout gets the token and a newline, nothing else; --format json gives
{"provider","profile","access_token","token_type","expires_at","scopes"}; env, dotenv and
powershell give the variables exec sets (export NAME='v', NAME=v, $env:NAME = 'v').
Under GitHub Actions (GITHUB_ACTIONS=true) the secret is first registered with the runner as
::add-mask:: on stderr.

Examples:
  authctl token lucidworks --scope machinelearning.model
  curl -sf -H "$(authctl token lucidworks --format header)" -d @request.json https://my-app.applications.lucidworks.com/ai/prediction/passthrough/llama-3-8b
  eval "$(authctl token lucidworks --format env)"
  authctl token lucidworks --format dotenv >> "$GITHUB_ENV"`,
    )
    .action(async (provider: string, o: { scope?: string; format: string; minTtl?: string; forceRefresh?: boolean; apiKey?: boolean }) => {
      const format = tokenFormatOf(ctx.globals.json, o.format)
      if (!(TOKEN_FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(`--format must be raw, json, header, env, dotenv or powershell; got ${JSON.stringify(format)}`)
      }
      await runF(
        { provider, scope: o.scope, format: format as TokenFormat, minTtl: o.minTtl, forceRefresh: Boolean(o.forceRefresh), apiKey: Boolean(o.apiKey) },
        ctx,
      )
    })
}

/** Tokens for the slots `exec` / `--format env` fill, each renewed if needed. */
export async function tokensForEnv(
  ctx: CliContext,
  t: Target,
  cred: Credential,
  scopes: readonly string[],
  minTtl: MinTtl,
  extra: { renewEarly?: boolean } = {},
): Promise<Array<{ scope: string | undefined; token: TokenSet }>> {
  // A key handed out beside the session token (LupaSearch's LUPA_API_KEY) must not have expired;
  // a key that is the token itself is checked (and replaced where possible) by getToken.
  if (t.provider.plan(cred, undefined).kind !== 'static') ctx.tokens().liveCredential(t.provider, t.ref, cred, false)
  const out: Array<{ scope: string | undefined; token: TokenSet }> = []
  for (const scope of execScopesOf(t.provider, cred, scopes)) {
    const token = await ctx.tokens().getToken(t.provider, t.ref, cred, { scope, ...minTtl, ...extra })
    out.push({ scope, token })
  }
  return out
}

export async function runToken(opts: TokenOptions, ctx: CliContext): Promise<void> {
  const t = target(ctx, opts.provider)
  const minTtl = minTtlOf(ctx, opts.minTtl)
  const cred = await ctx.credentials().resolve(t.provider, t.ref)
  if (opts.format === 'env' || opts.format === 'dotenv' || opts.format === 'powershell') {
    const tokens = await tokensForEnv(ctx, t, cred, opts.scope ? [opts.scope] : [], minTtl)
    const vars = t.provider.envVars(cred, tokens)
    const text = formatVars(vars, VAR_FORMATS[opts.format])
    registerMasks(ctx, secretValues(vars))
    ctx.io.out(text)
    return
  }
  let token: TokenSet
  if (opts.apiKey) {
    token = storedKeyToken(ctx, t, cred)
  } else {
    token = await ctx.tokens().getToken(t.provider, t.ref, cred, { scope: opts.scope, ...minTtl, forceRefresh: opts.forceRefresh })
  }
  registerMasks(ctx, [token.accessToken])
  printToken(ctx, t.provider, cred, token, opts.format)
}

function printToken(ctx: CliContext, provider: Provider, cred: Credential, token: TokenSet, format: Exclude<TokenFormat, keyof typeof VAR_FORMATS>): void {
  if (format === 'raw') ctx.io.out(`${token.accessToken}\n`)
  else if (format === 'header')
    ctx.io.out(
      provider
        .headerLines(cred, token)
        .map((l) => `${l}\n`)
        .join(''),
    )
  else {
    printJson(ctx.io, {
      provider: provider.id,
      profile: ctx.profile,
      access_token: token.accessToken,
      token_type: token.tokenType ?? 'Bearer',
      expires_at: isoOrNull(token.expiresAt),
      scopes: [...(token.scopes ?? [])],
    })
  }
}

/** `token --api-key`: the long-lived key a login keeps, or the credential's own token. */
function storedKeyToken(ctx: CliContext, t: Target, cred: Credential): TokenSet {
  const live = ctx.tokens().liveCredential(t.provider, t.ref, cred, false)
  if (t.provider.keyToken) return t.provider.keyToken(live)
  const plan = t.provider.plan(live, undefined)
  if (plan.kind === 'static') return plan.token()
  throw new UsageError(`--api-key does not apply to ${t.provider.id}: it has no stored keys`)
}
