import { decodeJwtClaims } from '../../kernel/jwt.js'
import { maskSecret } from '../../kernel/redact.js'
import { safeIso } from '../../kernel/sanitize.js'
import { checkProviderUrl } from '../http.js'
import { tokenFromResponse, tokenRequest } from '../kit/oauth.js'
import type { Credential, IssueResult, LoginInput, LoginResult, Provider, ProviderContext, TokenSet } from '../types.js'
import { collectSecret, collectValue } from '../inputs.js'

export const LUCIDWORKS_TOKEN_URL = 'https://identity.lucidworks.com/oauth2/ausao8uveaPmyhv0v357/v1/token'
export const DEFAULT_SCOPE = 'machinelearning.predict'
const TOKEN_URL_VAR = 'AUTHCTL_LUCIDWORKS_TOKEN_URL'

function tokenUrl(ctx: ProviderContext): URL {
  const raw = ctx.env[TOKEN_URL_VAR] || LUCIDWORKS_TOKEN_URL
  return checkProviderUrl(raw, ctx.env[TOKEN_URL_VAR] ? TOKEN_URL_VAR : 'the Lucidworks token URL')
}

function clientId(cred: Credential): string {
  return String(cred.data.clientId)
}

function loginScopes(cred: Credential): string[] {
  const s = cred.data.scopes
  return Array.isArray(s) && s.length > 0 ? s.map(String) : [DEFAULT_SCOPE]
}

/** The scopes Lucidworks documents (PROVIDERS.md §1); the server decides, this names them in errors. */
const SCOPES = ['machinelearning.predict', 'machinelearning.model', 'commercestudio.rules', 'commercestudio.rewrites']

/** What to say when the server refuses `scope`: the valid ones, and the likely intended one. */
export function scopeHint(scope: string): string {
  const guess = SCOPES.find((s) => scope.split(' ').some((w) => w && s !== w && (s.endsWith(`.${w}`) || s.startsWith(`${w}.`))))
  return `valid scopes: ${SCOPES.join(', ')}${guess ? ` (did you mean --scope ${guess}?)` : ''}`
}

/** Upper-cased env suffix for a scope: machinelearning.predict → MACHINELEARNING_PREDICT. */
export function scopeEnvSuffix(scope: string): string {
  return scope
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
}

/**
 * One client-credentials request (Basic auth; scope and grant_type as query parameters, no body).
 * Lucidworks keeps only the newest token per client and scope, which is why callers hold the
 * renewal lock around this.
 */
async function requestToken(cred: Credential, scope: string, ctx: ProviderContext): Promise<TokenSet> {
  const body = await tokenRequest(
    {
      url: tokenUrl(ctx).toString(),
      params: { grant_type: 'client_credentials', scope },
      client: { id: clientId(cred), secret: cred.secret.clientSecret ?? '' },
      auth: 'basic-raw',
      encoding: 'query',
      who: `Lucidworks client ${maskSecret(clientId(cred))}`,
      hint:
        cred.source === 'environment'
          ? 'check LUCIDWORKS_CLIENT_ID and LUCIDWORKS_CLIENT_SECRET'
          : 'run `authctl login lucidworks` again with the right client secret',
      scopeHint: scopeHint(scope),
    },
    ctx,
  )
  return tokenFromResponse(body, ctx.clock.now(), { scopes: [scope] })
}

export const lucidworks: Provider = {
  id: 'lucidworks',
  aliases: [],
  displayName: 'Lucidworks AI',
  env: {
    prefix: 'LUCIDWORKS',
    credentials: [['LUCIDWORKS_CLIENT_ID', 'LUCIDWORKS_CLIENT_SECRET']],
    extras: ['LUCIDWORKS_APPLICATION_ID', 'LUCIDWORKS_CUSTOMER_ID'],
    secrets: ['LUCIDWORKS_CLIENT_SECRET'],
  },
  endpoints: [{ variable: TOKEN_URL_VAR, url: LUCIDWORKS_TOKEN_URL, label: 'token URL' }],
  scopes: { known: SCOPES, default: DEFAULT_SCOPE, perToken: true },
  stored: {
    'client-credentials': {
      secret: ['clientSecret'],
      data: { clientId: 'string', scopes: 'string[]', applicationId: 'string?', customerId: 'string?' },
    },
  },
  loginFlags: [
    { flags: '--client-id <id>', help: 'OAuth client ID', env: 'LUCIDWORKS_CLIENT_ID' },
    { flags: '--client-secret-stdin', help: 'read the client secret from stdin', env: 'LUCIDWORKS_CLIENT_SECRET' },
    { flags: '--scope <scope>', help: `scope to request, repeatable (default ${DEFAULT_SCOPE})`, repeatable: true },
    { flags: '--application-id <id>', help: 'Application ID, passed to exec as LUCIDWORKS_APPLICATION_ID' },
    { flags: '--customer-id <id>', help: 'Customer ID, passed to exec as LUCIDWORKS_CUSTOMER_ID' },
    { flags: '--no-verify', help: 'store without requesting a token (which would replace the one in use elsewhere)' },
  ],
  keysElsewhere:
    'Lucidworks has no API for client credentials: manage them in the Platform UI under Models > Integrations > (your integration); to regenerate a client secret, contact Lucidworks support',

  fromEnv(env) {
    const id = env.LUCIDWORKS_CLIENT_ID
    const secret = env.LUCIDWORKS_CLIENT_SECRET
    if (!id || !secret) return undefined
    const data: Record<string, unknown> = { clientId: id, scopes: [DEFAULT_SCOPE] }
    if (env.LUCIDWORKS_APPLICATION_ID) data.applicationId = env.LUCIDWORKS_APPLICATION_ID
    if (env.LUCIDWORKS_CUSTOMER_ID) data.customerId = env.LUCIDWORKS_CUSTOMER_ID
    return { kind: 'client-credentials', source: 'environment', secret: { clientSecret: secret }, data }
  },

  plan(cred, scope) {
    const slot = scope ?? loginScopes(cred)[0] ?? DEFAULT_SCOPE
    return { kind: 'renewable', slot, renew: async (ctx): Promise<IssueResult> => ({ token: await requestToken(cred, slot, ctx) }) }
  },

  execScopes(cred, scopes) {
    return scopes.length > 0 ? [...scopes] : loginScopes(cred)
  },

  async login(input: LoginInput, ctx): Promise<LoginResult> {
    const o = input.options
    const id = await collectValue(input, ctx, {
      value: o.clientId as string | undefined,
      envVar: 'LUCIDWORKS_CLIENT_ID',
      flag: '--client-id',
      message: 'Lucidworks client ID',
    })
    const secret = await collectSecret(input, ctx, {
      stdin: Boolean(o.clientSecretStdin),
      envVar: 'LUCIDWORKS_CLIENT_SECRET',
      flag: '--client-secret-stdin',
      message: 'Lucidworks client secret',
    })
    const scopes = Array.isArray(o.scope) && o.scope.length > 0 ? [...new Set(o.scope.map(String))] : [DEFAULT_SCOPE]
    const data: Record<string, unknown> = { clientId: id, scopes }
    if (o.applicationId) data.applicationId = String(o.applicationId)
    if (o.customerId) data.customerId = String(o.customerId)
    const cred: Credential = { kind: 'client-credentials', source: 'memory', secret: { clientSecret: secret }, data }
    const stored = { kind: 'client-credentials', secret: { clientSecret: secret }, data }
    if (o.verify === false) {
      return {
        ...stored,
        summary: `Stored Lucidworks AI client ${id} (scopes: ${scopes.join(', ')}) without verifying it; the first \`authctl token\` requests a token`,
      }
    }
    tokenUrl(ctx) // a refused URL fails before the message below
    // Lucidworks keeps one valid token per client and scope: verifying revokes the one in use elsewhere.
    ctx.info(
      `Verifying by requesting a token for ${scopes.join(', ')}: this replaces any other token of client ${id} for ${scopes.length > 1 ? 'these scopes' : 'this scope'} ` +
        `(Lucidworks keeps one per client and scope; use --no-verify where production uses the same client)`,
    )
    const tokens: Array<{ slot: string; token: TokenSet }> = []
    for (const scope of scopes) tokens.push({ slot: scope, token: await requestToken(cred, scope, ctx) })
    return { ...stored, tokens, summary: `Logged in to Lucidworks AI as client ${id} (scopes: ${scopes.join(', ')})` }
  },

  async whoami(cred, token) {
    const claims = decodeJwtClaims(token.accessToken) ?? {}
    const scp = claims.scp ?? claims.scope
    const scopes = Array.isArray(scp) ? scp.map(String) : typeof scp === 'string' ? scp.split(' ') : [...(token.scopes ?? [])]
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : token.expiresAt
    const out: Record<string, unknown> = {
      client_id: typeof claims.cid === 'string' ? claims.cid : clientId(cred),
      scopes,
      expires_at: safeIso(exp),
    }
    if (typeof claims.iss === 'string') out.issuer = claims.iss
    if (cred.data.applicationId) out.application_id = cred.data.applicationId
    if (cred.data.customerId) out.customer_id = cred.data.customerId
    return out
  },

  headerLines(_cred, token) {
    return [`Authorization: Bearer ${token.accessToken}`]
  },

  envVars(cred, tokens) {
    const out: Record<string, string> = {}
    const first = tokens[0]
    if (first) out.LUCIDWORKS_ACCESS_TOKEN = first.token.accessToken
    for (const { scope, token } of tokens) {
      if (scope) out[`LUCIDWORKS_ACCESS_TOKEN_${scopeEnvSuffix(scope)}`] = token.accessToken
    }
    if (cred.data.applicationId) out.LUCIDWORKS_APPLICATION_ID = String(cred.data.applicationId)
    if (cred.data.customerId) out.LUCIDWORKS_CUSTOMER_ID = String(cred.data.customerId)
    return out
  },
}
