import { NonInteractiveError, UsageError } from '../../kernel/errors.js'
import { collectSecret, collectValue, stripFinalNewline, trimLineEnd, validateSecret } from '../inputs.js'
import type { LoginInput, LoginResult, ProviderContext, TokenSet } from '../types.js'
import {
  checkAuthMethod,
  checkEnvPrefix,
  checkResource,
  checkTokenUrl,
  DEFAULT_PREFIX,
  dataOf,
  ENV,
  KIND,
  splitScopes,
  type OAuth2Settings,
} from './settings.js'
import { requestToken, rotatedRefreshToken, tokenSetFrom, type OAuth2Secrets } from './token-request.js'

/** A refresh token goes into a form body verbatim: printable ASCII, as a server would issue it. */
function printable(token: string): string {
  if (/[^\x21-\x7e]/.test(token))
    throw new UsageError('the refresh token contains spaces or non-ASCII characters', { hint: 'pass it exactly as the server issued it' })
  return token
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)

/** Every non-secret flag checked (exit 2) before anything is read from stdin or sent. */
async function collectSettings(input: LoginInput, ctx: ProviderContext): Promise<OAuth2Settings> {
  const o = input.options
  const tokenUrl = await collectValue(input, ctx, { value: str(o.tokenUrl), envVar: ENV.tokenUrl, flag: '--token-url', message: 'OAuth2 token URL' })
  // Named as the user gave it: the flag, the variable, or the answer to the prompt.
  checkTokenUrl(tokenUrl, str(o.tokenUrl) ? '--token-url' : ctx.env[ENV.tokenUrl] ? ENV.tokenUrl : 'the token URL')
  const envPrefix = checkEnvPrefix(str(o.envPrefix) ?? DEFAULT_PREFIX)
  const auth = checkAuthMethod(str(o.auth) ?? 'basic')
  const resource = str(o.resource) ?? ctx.env[ENV.resource] ?? undefined
  if (resource) checkResource(resource, str(o.resource) ? '--resource' : ENV.resource)
  const audience = str(o.audience) ?? (ctx.env[ENV.audience] || undefined)
  const scopes = splitScopes(Array.isArray(o.scope) && o.scope.length > 0 ? o.scope : [ctx.env[ENV.scope] ?? ''])
  const grant = o.refreshTokenStdin || ctx.env[ENV.refreshToken] ? 'refresh_token' : 'client_credentials'
  const clientId = await collectValue(input, ctx, { value: str(o.clientId), envVar: ENV.clientId, flag: '--client-id', message: 'OAuth2 client ID' })
  return { tokenUrl, clientId, scopes, ...(audience ? { audience } : {}), ...(resource ? { resource } : {}), auth, envPrefix, grant }
}

/**
 * The client secret and refresh token. With both --client-secret-stdin and
 * --refresh-token-stdin, stdin holds the secret on line 1 and the refresh token on line 2.
 * A refresh-token login may be a public client (no secret); client credentials need one.
 */
async function collectSecrets(input: LoginInput, ctx: ProviderContext, s: OAuth2Settings): Promise<OAuth2Secrets> {
  const o = input.options
  if (o.clientSecretStdin && o.refreshTokenStdin) {
    const lines = stripFinalNewline(await input.readStdin()).split(/\r?\n/)
    if (lines.length < 2) {
      throw new UsageError('stdin must hold the client secret on its first line and the refresh token on its second', {
        hint: 'printf \'%s\\n%s\\n\' "$SECRET" "$REFRESH_TOKEN" | authctl login oauth2 … --client-secret-stdin --refresh-token-stdin',
      })
    }
    return {
      clientSecret: validateSecret(lines[0] ?? '', 'client secret (stdin line 1)'),
      refreshToken: printable(validateSecret((lines[1] ?? '').trim(), 'refresh token (stdin line 2)')),
    }
  }
  const secretSpec = { stdin: Boolean(o.clientSecretStdin), envVar: ENV.clientSecret, flag: '--client-secret-stdin', message: 'OAuth2 client secret' }
  if (s.grant === 'client_credentials') return { clientSecret: await collectSecret(input, ctx, secretSpec) }
  const refreshToken = await collectSecret(input, ctx, {
    stdin: Boolean(o.refreshTokenStdin),
    envVar: ENV.refreshToken,
    flag: '--refresh-token-stdin',
    message: 'OAuth2 refresh token',
    header: true,
  })
  const envSecret = trimLineEnd(ctx.env[ENV.clientSecret] ?? '')
  if (envSecret) return { clientSecret: validateSecret(envSecret, `OAuth2 client secret (from ${ENV.clientSecret})`), refreshToken }
  // The secret is optional here: a public client refreshes with its client_id alone.
  return { refreshToken }
}

function describe(s: OAuth2Settings): string {
  const host = new URL(s.tokenUrl).host
  const scopes = s.scopes.length ? `scopes: ${s.scopes.join(' ')}` : 'no scope'
  return `OAuth2 client ${s.clientId} at ${host} (${s.grant === 'refresh_token' ? 'refresh token' : 'client credentials'}, ${scopes}, variables ${s.envPrefix}_*)`
}

/**
 * `authctl login oauth2`: settings checked first (a refused URL or prefix is exit 2 before a
 * secret is read), then the secrets, then one token request unless --no-verify. A refresh token
 * the server rotated during that request is what gets stored (the one given is dead by then).
 */
export async function oauth2Login(input: LoginInput, ctx: ProviderContext, slotOf: (s: OAuth2Settings) => string): Promise<LoginResult> {
  const s = await collectSettings(input, ctx)
  const secrets = await collectSecrets(input, ctx, s)
  if (s.grant === 'client_credentials' && !secrets.clientSecret) {
    throw new NonInteractiveError('missing OAuth2 client secret', { hint: `pipe it to --client-secret-stdin or set ${ENV.clientSecret}` })
  }
  const secret: Record<string, string> = {}
  if (secrets.clientSecret) secret.clientSecret = secrets.clientSecret
  if (secrets.refreshToken) secret.refreshToken = secrets.refreshToken
  const stored = { kind: KIND[s.grant] as string, secret, data: dataOf(s) }
  if (input.options.verify === false) {
    return { ...stored, summary: `Stored ${describe(s)} without verifying it; the first \`authctl token oauth2\` requests a token` }
  }
  const body = await requestToken(ctx, s, secrets, s.scopes, {
    urlSource: '--token-url',
    hint: 'check the token URL, client ID, secret, --auth method and refresh token',
  })
  const token: TokenSet = tokenSetFrom(body, s.scopes, ctx.clock.now())
  const rotated = s.grant === 'refresh_token' ? rotatedRefreshToken(body, secrets.refreshToken) : undefined
  if (rotated) secret.refreshToken = rotated
  return { ...stored, secret, tokens: [{ slot: slotOf(s), token }], summary: `Logged in to ${describe(s)}` }
}
