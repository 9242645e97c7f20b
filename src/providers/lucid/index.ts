import { NonInteractiveError, UsageError } from '../../kernel/errors.js'
import { maskSecret } from '../../kernel/redact.js'
import { baseUrl, failure, jsonObject, loginExpiry, send, storedExpiry, str } from '../api.js'
import { checkProviderUrl } from '../http.js'
import { collectSecret, collectValue, validateSecret } from '../inputs.js'
import { readOAuthError } from '../kit/failure.js'
import { type OAuthTokenResponse, tokenFromResponse, tokenRequest } from '../kit/oauth.js'
import { storedBearer } from '../kit/stored.js'
import type { Credential, IssueResult, LoginInput, LoginResult, Provider, ProviderContext, StoredKey, TokenSet } from '../types.js'

const API_VAR = 'AUTHCTL_LUCID_API_URL'
const DEFAULT_API = 'https://api.lucid.co'
const AUTHORIZE_VAR = 'AUTHCTL_LUCID_AUTHORIZE_URL'
const DEFAULT_AUTHORIZE = 'https://lucid.app/oauth2/authorize'
export const DEFAULT_PORT = 8976
const OAUTH_SLOT = 'oauth'
const VERSION_HEADER = { 'lucid-api-version': '1' }

const api = (ctx: ProviderContext) => baseUrl(ctx, API_VAR, DEFAULT_API)

/** Lucid's token answer: `expires` (epoch ms) is one more expiry source after `expires_in`. */
function tokenFrom(body: OAuthTokenResponse, now: number): TokenSet {
  const scopes = Array.isArray(body.scopes) ? body.scopes.map(String) : undefined
  const t = tokenFromResponse(body, now, { alsoAt: body.expires })
  return { ...t, tokenType: 'Bearer', ...(scopes ? { scopes } : {}) }
}

/** POST /oauth2/token with a JSON body (Lucid's documented form). */
function lucidToken(ctx: ProviderContext, params: Record<string, string>, client: { id: string; secret: string }, who: string, hint: string) {
  return tokenRequest({ url: `${api(ctx)}/oauth2/token`, params, client, auth: 'body', encoding: 'json', who, hint }, ctx)
}

async function profile(token: string, ctx: ProviderContext, hint: string): Promise<Record<string, unknown>> {
  const res = await send(ctx, { method: 'GET', url: `${api(ctx)}/users/me/profile`, headers: { authorization: `Bearer ${token}`, ...VERSION_HEADER } })
  if (res.status !== 200) throw failure(res, readOAuthError, { what: 'Lucid users/me/profile', authHint: hint })
  return jsonObject(res, 'Lucid users/me/profile')
}

function parsePort(v: unknown): number {
  if (v === undefined) return DEFAULT_PORT
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--port must be a port number; got ${JSON.stringify(String(v))}`)
  return n
}

/** Authorization code via the loopback redirect (browser or printed URL) or, with --manual, pasted. */
async function obtainCode(
  input: LoginInput,
  ctx: ProviderContext,
  clientId: string,
  scopes: string[],
  stdinRest: () => Promise<string | undefined>,
): Promise<{ code: string; redirectUri: string; codeVerifier: string }> {
  const o = input.options
  // Loaded only for a login: it pulls in node:http, which the token path does not need.
  const { buildAuthorizeUrl, newPkce, newState, openBrowser, waitForCallback } = await import('../kit/loopback.js')
  const authorizeUrl = checkProviderUrl(ctx.env[AUTHORIZE_VAR] || DEFAULT_AUTHORIZE, AUTHORIZE_VAR).toString()
  const state = newState()
  const pkce = newPkce()
  const codeVerifier = pkce.verifier
  const codeChallenge = pkce.challenge
  if (o.manual) {
    const redirectUri = manualRedirectUri(authorizeUrl, clientId)
    const url = buildAuthorizeUrl({ authorizeUrl, clientId, scopes, redirectUri, state, codeChallenge })
    ctx.info(`Open this URL, approve, and copy the code Lucid shows:\n  ${url}`)
    const fromStdin = await stdinRest()
    if (fromStdin !== undefined) return { code: validateSecret(fromStdin.trim(), 'authorization code'), redirectUri, codeVerifier }
    if (!input.interactive)
      throw new NonInteractiveError('missing the authorization code', {
        hint: 'write it on the next line of stdin once the URL is printed (after the client secret when --client-secret-stdin is used)',
      })
    return { code: validateSecret((await ctx.prompter.input('Paste the authorization code')).trim(), 'authorization code'), redirectUri, codeVerifier }
  }
  const port = parsePort(o.port)
  const redirectUri = `http://localhost:${port}/callback`
  const url = buildAuthorizeUrl({ authorizeUrl, clientId, scopes, redirectUri, state, codeChallenge })
  const onListening = () => {
    if (o.browser === false) {
      ctx.info(`Open this URL in a browser to authorize authctl (waiting up to 5 min for the redirect to ${redirectUri}):\n  ${url}`)
    } else {
      ctx.info(`Opening the browser to authorize authctl. If it does not open, visit:\n  ${url}`)
      openBrowser(url, ctx)
    }
  }
  const code = await waitForCallback(port, state, onListening, { name: 'Lucid', again: 'authctl login lucid' })
  return { code, redirectUri, codeVerifier }
}

/** Lucid's own redirect page on the authorize host: `{origin}/oauth2/clients/{id}/redirect`. */
export function manualRedirectUri(authorizeUrl: string, clientId: string): string {
  return `${new URL(authorizeUrl).origin}/oauth2/clients/${encodeURIComponent(clientId)}/redirect`
}

async function apiKeyLogin(input: LoginInput, ctx: ProviderContext): Promise<LoginResult> {
  const expiry = loginExpiry(input.options, ctx.clock.now(), true, '--api-key-stdin')
  const key = await collectSecret(input, ctx, {
    stdin: Boolean(input.options.apiKeyStdin),
    envVar: 'LUCID_API_KEY',
    flag: '--api-key-stdin',
    message: 'Lucid API key',
    header: true,
  })
  const data: Record<string, unknown> = { ...expiry }
  if (input.options.verify !== false) {
    const p = await profile(key, ctx, 'check the key, and that it has the User grant (developer portal > API Keys)')
    Object.assign(data, { userId: str(p.id), email: str(p.email), username: str(p.username) })
  }
  return {
    kind: 'api-key',
    secret: { apiKey: key },
    data,
    summary: `Stored Lucid API key ${maskSecret(key)}${data.email ? ` of ${String(data.email)}` : ' (not verified)'}`,
  }
}

async function oauthLogin(input: LoginInput, ctx: ProviderContext): Promise<LoginResult> {
  const o = input.options
  const clientId = await collectValue(input, ctx, {
    value: o.clientId as string | undefined,
    envVar: 'LUCID_CLIENT_ID',
    flag: '--client-id',
    message: 'Lucid OAuth client ID',
  })
  // With --manual and --client-secret-stdin, stdin carries the secret, then the code: the code
  // line is read after the URL is printed (it comes from this run's URL: its state and PKCE).
  let clientSecret: string
  if (o.clientSecretStdin) clientSecret = validateSecret((await input.readStdinLine()) ?? '', 'Lucid client secret')
  else
    clientSecret = await collectSecret(input, ctx, {
      stdin: false,
      envVar: 'LUCID_CLIENT_SECRET',
      flag: '--client-secret-stdin',
      message: 'Lucid client secret',
    })
  const asked = Array.isArray(o.scope) ? o.scope.map(String) : []
  const scopes = [...new Set([...(asked.length ? asked : ['user.profile']), 'offline_access'])]
  const stdinRest = async () => (input.interactive ? undefined : input.readStdinLine())
  const { code, redirectUri, codeVerifier } = await obtainCode(input, ctx, clientId, scopes, stdinRest)
  const who = `Lucid client ${maskSecret(clientId)}`
  const exchange = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: codeVerifier }
  const client = { id: clientId, secret: clientSecret }
  const hint = o.manual
    ? `use the code from the page this run's URL leads to (a code works once, for a few minutes); check the client ID and secret, and that ${redirectUri} is registered for the client`
    : 'check the client ID and secret, and that the redirect URI is registered for the client'
  const body = await lucidToken(ctx, exchange, client, who, hint)
  const token = tokenFrom(body, ctx.clock.now())
  const secret: Record<string, string> = { clientSecret }
  if (typeof body.refresh_token === 'string' && body.refresh_token) secret.refreshToken = body.refresh_token
  else ctx.warn('Lucid returned no refresh token (offline_access not granted): the token cannot be renewed after it expires')
  const data: Record<string, unknown> = { clientId, scopes: token.scopes?.length ? [...token.scopes] : scopes }
  if (body.user_id !== undefined) data.userId = String(body.user_id)
  if (token.scopes?.includes('user.profile') || scopes.includes('user.profile')) {
    const p = await profile(token.accessToken, ctx, 'the new token was refused; try again').catch(() => undefined)
    if (p) Object.assign(data, { email: str(p.email), username: str(p.username), userId: str(p.id) ?? data.userId })
  }
  return {
    kind: 'oauth',
    secret,
    data,
    tokens: [{ slot: OAUTH_SLOT, token }],
    summary: `Logged in to Lucid${data.email ? ` as ${String(data.email)}` : ''} with OAuth client ${clientId} (scopes: ${(data.scopes as string[]).join(' ')})`,
  }
}

/** A Lucid API key login: the key is the token. */
function apiKeyToken(cred: Credential): TokenSet {
  return storedBearer(cred, 'apiKey', { what: 'Lucid API key', hint: 'run `authctl login lucid --api-key-stdin`' })
}

/** The refresh-token grant; Lucid rotates the refresh token, which the token service stores first. */
async function refreshGrant(cred: Credential, refresh: string, ctx: ProviderContext): Promise<IssueResult> {
  const clientId = String(cred.data.clientId)
  const body = await lucidToken(
    ctx,
    { grant_type: 'refresh_token', refresh_token: refresh },
    { id: clientId, secret: cred.secret.clientSecret ?? '' },
    `Lucid client ${maskSecret(clientId)}`,
    'run `authctl login lucid` again',
  )
  const token = tokenFrom(body, ctx.clock.now())
  const rotated = typeof body.refresh_token === 'string' && body.refresh_token ? { refreshToken: body.refresh_token } : undefined
  return rotated ? { token, secretUpdate: rotated } : { token }
}

export const lucid: Provider = {
  id: 'lucid',
  aliases: [],
  displayName: 'Lucid',
  env: {
    prefix: 'LUCID',
    credentials: [['LUCID_API_KEY']],
    secrets: ['LUCID_CLIENT_SECRET'],
  },
  endpoints: [
    { variable: API_VAR, url: DEFAULT_API, label: 'API and token endpoint' },
    { variable: AUTHORIZE_VAR, url: DEFAULT_AUTHORIZE, label: 'authorize page' },
  ],
  scopes: {
    known: [
      'user.profile',
      'offline_access',
      'account.info',
      'account.user',
      'account.user:readonly',
      'folder',
      'folder:readonly',
      'lucidchart.document.content',
      'lucidchart.document.content:readonly',
      'lucidchart.document.app',
      'lucid.document.content',
      'lucid.document.content:readonly',
    ],
  },
  stored: {
    'api-key': { secret: ['apiKey'], data: { expiresAt: 'string?' } },
    oauth: { secret: [], optionalSecret: ['refreshToken', 'clientSecret'], data: { clientId: 'string', scopes: 'string[]?' } },
  },
  loginFlags: [
    { flags: '--api-key-stdin', help: 'store an API key read from stdin', env: 'LUCID_API_KEY' },
    { flags: '--client-id <id>', help: 'OAuth client ID' },
    { flags: '--client-secret-stdin', help: 'read the client secret from stdin', env: 'LUCID_CLIENT_SECRET' },
    { flags: '--scope <scope>', help: 'scope to request, repeatable', repeatable: true },
    { flags: '--port <n>', help: `local port of the redirect http://localhost:PORT/callback (default ${DEFAULT_PORT})` },
    { flags: '--no-browser', help: 'print the authorize URL instead of opening a browser' },
    { flags: '--manual', help: "use Lucid's own redirect page and paste the code (headless)" },
    { flags: '--no-verify', help: 'store without checking it with the provider' },
    { flags: '--expires <date>', help: 'when the stored key or token expires (ISO-8601 date or never), for expiry checks' },
  ],
  keysElsewhere: 'Lucid API keys are made only in the developer portal: API Keys section (developer.lucid.co)',

  fromEnv(env): Credential | undefined {
    return env.LUCID_API_KEY ? { kind: 'api-key', source: 'environment', secret: { apiKey: env.LUCID_API_KEY }, data: {} } : undefined
  },

  plan(cred) {
    if (cred.kind !== 'oauth') return { kind: 'static', token: () => apiKeyToken(cred) }
    const refresh = cred.secret.refreshToken
    if (!refresh) return { kind: 'cache-only', slot: OAUTH_SLOT }
    return { kind: 'renewable', slot: OAUTH_SLOT, renew: (ctx) => refreshGrant(cred, refresh, ctx) }
  },

  storedKey(kind, data): StoredKey | undefined {
    if (kind !== 'api-key') return undefined
    return {
      label: 'API key',
      ...storedExpiry(data.expiresAt),
      field: 'apiKey',
      replaceHint: 'make a new API key in the Lucid developer portal (API Keys) and run `authctl login lucid --api-key-stdin --expires DATE`',
    }
  },

  async login(input, ctx) {
    const o = input.options
    const wantsKey = o.apiKeyStdin || (!o.clientId && !o.clientSecretStdin && !ctx.env.LUCID_CLIENT_ID && ctx.env.LUCID_API_KEY)
    if (wantsKey) {
      if (o.clientId || o.clientSecretStdin || o.manual) throw new UsageError('--api-key-stdin cannot be combined with the OAuth flags')
      return apiKeyLogin(input, ctx)
    }
    if (!o.clientId && !ctx.env.LUCID_CLIENT_ID) {
      if (!input.interactive) {
        loginExpiry(o, ctx.clock.now(), false, '--api-key-stdin')
        throw new NonInteractiveError('missing Lucid credentials', {
          hint: 'pipe an API key to --api-key-stdin (or set LUCID_API_KEY), or pass --client-id for OAuth',
        })
      }
      const how = await ctx.prompter.select('How do you want to log in to Lucid?', [
        { name: 'Personal API key (made in the developer portal)', value: 'key' },
        { name: 'OAuth 2.0 client (browser sign-in)', value: 'oauth' },
      ])
      if (how === 'key') return apiKeyLogin(input, ctx)
    }
    loginExpiry(o, ctx.clock.now(), false, '--api-key-stdin')
    return oauthLogin(input, ctx)
  },

  async logout(cred, ctx) {
    if (cred.kind !== 'oauth' || !cred.secret.refreshToken) return
    const form = new URLSearchParams({ client_id: String(cred.data.clientId), client_secret: cred.secret.clientSecret ?? '', token: cred.secret.refreshToken })
    const http = await ctx.http()
    const res = await http.request({
      method: 'POST',
      url: `${api(ctx)}/oauth2/token/revoke`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    })
    if (res.status !== 200 && res.status !== 204) {
      throw failure(res, readOAuthError, {
        what: 'revoking the Lucid grant',
        authHint: 'the client credentials were refused; revoke the app in Lucid if needed',
      })
    }
  },

  async whoami(cred, token, ctx) {
    const p = await profile(token.accessToken, ctx, cred.source === 'environment' ? 'check LUCID_API_KEY' : 'run `authctl login lucid` again')
    return { id: str(p.id) ?? null, email: str(p.email) ?? null, username: str(p.username) ?? null, kind: cred.kind }
  },

  headerLines(_cred, token) {
    return [`Authorization: Bearer ${token.accessToken}`, 'Lucid-Api-Version: 1']
  },

  envVars(_cred, tokens): Record<string, string> {
    const first = tokens[0]
    return first ? { LUCID_ACCESS_TOKEN: first.token.accessToken, LUCID_API_VERSION: '1' } : {}
  },
}
