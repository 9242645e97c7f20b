import { maskSecret } from '../../kernel/redact.js'
import type { HttpRequest } from '../http.js'
import { type OAuthTokenResponse, type TokenRequest, tokenFromResponse, tokenRequest, tokenRequestParts } from '../kit/oauth.js'
import type { ProviderContext, TokenSet } from '../types.js'
import { checkTokenUrl, type OAuth2Settings } from './settings.js'

export { basicCredentials, normaliseTokenType } from '../kit/oauth.js'

/** The secret half of a credential that a token request uses. */
export interface OAuth2Secrets {
  clientSecret?: string
  refreshToken?: string
}

/**
 * One token request for the kit: the grant's form fields, the requested scope, audience and
 * resource, and the client authentication. A client without a secret (a public client, refresh
 * grant only) sends its client_id in the body.
 */
function requestOf(s: OAuth2Settings, secrets: OAuth2Secrets, scopes: readonly string[], url: URL, hint = ''): TokenRequest {
  const params: Record<string, string> = { grant_type: s.grant }
  if (s.grant === 'refresh_token') params.refresh_token = secrets.refreshToken ?? ''
  if (scopes.length > 0) params.scope = scopes.join(' ')
  if (s.audience) params.audience = s.audience
  if (s.resource) params.resource = s.resource
  return {
    url: url.toString(),
    params,
    client: { id: s.clientId, ...(secrets.clientSecret ? { secret: secrets.clientSecret } : {}) },
    auth: secrets.clientSecret && s.auth === 'basic' ? 'basic' : 'body',
    encoding: 'form',
    who: `OAuth2 client ${maskSecret(s.clientId)} at ${url.host}`,
    hint,
    scopeHint: 'check --scope (or OAUTH2_SCOPE) against what the server allows this client',
  }
}

/** The request as plain data (for tests): what the kit sends. */
export function buildTokenRequest(s: OAuth2Settings, secrets: OAuth2Secrets, scopes: readonly string[], url: URL): HttpRequest {
  const p = tokenRequestParts(requestOf(s, secrets, scopes, url))
  return { method: 'POST', url: p.url, headers: p.headers, ...(p.body === undefined ? {} : { body: p.body }) }
}

/** A validated token response → TokenSet (the kit's one expiry rule; scopes granted, else requested). */
export function tokenSetFrom(body: OAuthTokenResponse, requested: readonly string[], now: number): TokenSet {
  return tokenFromResponse(body, now, { scopes: requested })
}

/** The refresh token of an answer, when the server rotated it (already checked printable). */
export function rotatedRefreshToken(body: OAuthTokenResponse, previous: string | undefined): string | undefined {
  const rt = body.refresh_token
  return typeof rt === 'string' && rt.length > 0 && rt !== previous ? rt : undefined
}

/** POSTs one token request and returns the validated answer (exit 4 rejected, 2 refused values, 5 failing or malformed). */
export async function requestToken(
  ctx: ProviderContext,
  s: OAuth2Settings,
  secrets: OAuth2Secrets,
  scopes: readonly string[],
  opts: { urlSource: string; hint: string },
): Promise<OAuthTokenResponse> {
  const url = checkTokenUrl(s.tokenUrl, opts.urlSource)
  return tokenRequest(requestOf(s, secrets, scopes, url, opts.hint), ctx)
}
