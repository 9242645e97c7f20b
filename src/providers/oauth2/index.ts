import { AuthRequiredError, UsageError } from '../../kernel/errors.js'
import type { Credential, IssueResult, Provider, ProviderContext, TokenSet } from '../types.js'
import { identityOf } from './identity.js'
import { oauth2Login } from './login.js'
import { checkEnvSettings, credentialFromEnv, ENV, KIND, settingsOf, splitScopes, type OAuth2Settings } from './settings.js'
import { requestToken, rotatedRefreshToken, tokenSetFrom } from './token-request.js'

/** What every oauth2 login keeps besides its secret. */
const STORED_DATA = {
  tokenUrl: 'string',
  clientId: 'string',
  scopes: 'string[]',
  auth: 'string?',
  audience: 'string?',
  resource: 'string?',
  envPrefix: 'string?',
} as const

/** Cache slot of a token requested with no scope at all. */
const NO_SCOPE_SLOT = '(default)'

/** The slot of a scope set: the scopes space-separated (what is sent), or NO_SCOPE_SLOT. */
function slotOfScopes(scopes: readonly string[]): string {
  return scopes.length ? scopes.join(' ') : NO_SCOPE_SLOT
}

function scopesOfSlot(slot: string): string[] {
  return slot === NO_SCOPE_SLOT ? [] : slot.split(' ')
}

/**
 * `token oauth2 --scope S`: a client-credentials login asks for S; a refresh-token login renews
 * one grant, whose rotation must stay under one lock, so it serves only the scopes it logged in with.
 */
function slotFor(cred: Credential, scope: string | undefined): string {
  const s = settingsOf(cred)
  const own = slotOfScopes(s.scopes)
  if (scope === undefined) return own
  const asked = slotOfScopes(splitScopes([scope]))
  if (s.grant === 'refresh_token' && asked !== own) {
    throw new UsageError(`--scope ${JSON.stringify(scope)} does not apply to a refresh-token login (it renews the scopes it logged in with: ${own})`, {
      hint: 'log in with those scopes in another profile: authctl --profile NAME login oauth2 … --scope S --refresh-token-stdin',
    })
  }
  return asked
}

function renewHint(cred: Credential): string {
  return cred.source === 'environment'
    ? `check ${ENV.tokenUrl}, ${ENV.clientId} and ${ENV.clientSecret}`
    : 'run `authctl login oauth2` again with the right client and secret (or a new refresh token)'
}

/** Issues one token for `slot`: client credentials, or the refresh grant with its rotated refresh token returned for storing. */
async function issueToken(cred: Credential, slot: string, ctx: ProviderContext): Promise<IssueResult> {
  checkEnvSettings(cred)
  const s: OAuth2Settings = settingsOf(cred)
  if (s.grant === 'refresh_token' && !cred.secret.refreshToken) {
    throw new AuthRequiredError('the OAuth2 login has no refresh token', { hint: 'run `authctl login oauth2 … --refresh-token-stdin` again' })
  }
  const scopes = scopesOfSlot(slot)
  const urlSource = cred.source === 'environment' ? ENV.tokenUrl : 'the stored OAuth2 token URL'
  const secrets = {
    ...(cred.secret.clientSecret ? { clientSecret: cred.secret.clientSecret } : {}),
    ...(cred.secret.refreshToken ? { refreshToken: cred.secret.refreshToken } : {}),
  }
  const body = await requestToken(ctx, s, secrets, scopes, { urlSource, hint: renewHint(cred) })
  const token = tokenSetFrom(body, scopes, ctx.clock.now())
  const rotated = s.grant === 'refresh_token' ? rotatedRefreshToken(body, cred.secret.refreshToken) : undefined
  return rotated ? { token, secretUpdate: { refreshToken: rotated } } : { token }
}

/**
 * Any other API that issues OAuth2 tokens (RFC 6749): client credentials, or a refresh token
 * (rotation handled as for Lucid), against a token URL given at login. One profile per API.
 */
export const oauth2: Provider = {
  id: 'oauth2',
  aliases: [],
  displayName: 'OAuth2',
  env: {
    prefix: 'OAUTH2',
    credentials: [[ENV.tokenUrl, ENV.clientId, ENV.clientSecret]],
    extras: [ENV.scope, ENV.audience, ENV.resource, ENV.auth],
    secrets: [ENV.clientSecret, ENV.refreshToken],
  },
  // A client-credentials login asks for the scope given to `token --scope`.
  scopes: { known: [], perToken: true },
  // No default endpoint: `doctor` probes the login's token URL (endpointFor).
  endpoints: [{ variable: ENV.tokenUrl, url: '', label: 'token URL (CI; a login keeps its own)' }],
  stored: {
    [KIND.client_credentials]: { secret: ['clientSecret'], data: STORED_DATA },
    [KIND.refresh_token]: { secret: ['refreshToken'], optionalSecret: ['clientSecret'], data: STORED_DATA },
  },
  loginFlags: [
    { flags: '--token-url <url>', help: 'token endpoint, https (or http on loopback)', env: ENV.tokenUrl },
    { flags: '--client-id <id>', help: 'OAuth client ID', env: ENV.clientId },
    { flags: '--client-secret-stdin', help: 'read the client secret from stdin', env: ENV.clientSecret },
    {
      flags: '--refresh-token-stdin',
      help: 'use the refresh-token grant; read the refresh token from stdin (line 2 after the secret)',
      env: ENV.refreshToken,
    },
    { flags: '--scope <scope>', help: 'scope to request, repeatable (the variable: space-separated)', env: ENV.scope, repeatable: true },
    { flags: '--audience <audience>', help: 'audience parameter to send', env: ENV.audience },
    { flags: '--resource <uri>', help: 'RFC 8707 resource indicator to send', env: ENV.resource },
    { flags: '--auth <method>', help: 'client authentication: basic (default) or body', env: ENV.auth },
    { flags: '--env-prefix <name>', help: 'exec/env variable prefix (default OAUTH2 → OAUTH2_ACCESS_TOKEN)' },
    { flags: '--no-verify', help: 'store without checking it with the provider' },
  ],
  keysElsewhere: "OAuth2 clients and their secrets are managed in the authorization server's own console",

  fromEnv: credentialFromEnv,
  envPrefixFor: (cred) => settingsOf(cred).envPrefix,
  endpointFor: (data) => (typeof data.tokenUrl === 'string' && data.tokenUrl ? data.tokenUrl : undefined),

  plan(cred, scope) {
    const slot = slotFor(cred, scope)
    if (cred.kind === KIND.refresh_token && !cred.secret.refreshToken) return { kind: 'cache-only', slot }
    return { kind: 'renewable', slot, renew: (ctx) => issueToken(cred, slot, ctx) }
  },

  // No execScopes: `exec --scope` chooses Lucidworks scopes (CONTRACT); an OAuth2 login hands out its own.

  login(input, ctx) {
    return oauth2Login(input, ctx, (s) => slotOfScopes(s.scopes))
  },

  async whoami(cred, token: TokenSet) {
    return identityOf(settingsOf(cred), token)
  },

  headerLines(_cred, token) {
    return [`Authorization: ${token.tokenType ?? 'Bearer'} ${token.accessToken}`]
  },

  envVars(cred, tokens) {
    const first = tokens[0]
    return first ? { [`${settingsOf(cred).envPrefix}_ACCESS_TOKEN`]: first.token.accessToken } : {}
  },
}
