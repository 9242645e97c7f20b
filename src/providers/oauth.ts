import { AuthRequiredError, ProviderHttpError, UsageError } from '../kernel/errors.js'
import { checkToken, saneIn } from '../kernel/sanitize.js'
import type { HttpResponse } from './http.js'
import { parseJsonBody } from './http.js'

/** RFC 6749 §5.2 error body, as far as it can be read. */
export interface OAuthErrorBody {
  error?: string
  description?: string
}

export function readOAuthError(res: HttpResponse): OAuthErrorBody {
  try {
    const b = JSON.parse(res.body) as Record<string, unknown>
    const out: OAuthErrorBody = {}
    if (typeof b.error === 'string') out.error = b.error.slice(0, 100)
    const d = b.error_description ?? b.errorSummary ?? b.message
    if (typeof d === 'string') out.description = d.replace(/\s+/g, ' ').slice(0, 200)
    return out
  } catch {
    return {}
  }
}

/**
 * Maps a failed token-endpoint answer to the documented exit codes: rejected client or grant
 * → 4, bad scope → 2, anything else → 5. `who` names the provider and client for the message.
 */
export function tokenEndpointError(res: HttpResponse, who: string, hint: string, opts: { scopeHint?: string } = {}): Error {
  const { error, description } = readOAuthError(res)
  const detail = [error, description].filter(Boolean).join(': ')
  const suffix = detail ? ` (${detail})` : ''
  if (res.status === 401 || res.status === 403 || error === 'invalid_client' || error === 'invalid_grant' || error === 'unauthorized_client') {
    return new AuthRequiredError(`${who}: credentials rejected, HTTP ${res.status}${suffix}`, { hint })
  }
  if (error === 'invalid_scope') return new UsageError(`${who}: scope refused${suffix}`, { hint: opts.scopeHint ?? 'check --scope' })
  return new ProviderHttpError(`${who}: token request failed, HTTP ${res.status}${suffix}`, {
    status: res.status,
    ...(error ? { providerError: error } : {}),
    body: res.body,
    hint: res.status >= 500 ? 'the provider is failing; try again later' : hint,
  })
}

/** A standard token response, validated. */
export interface OAuthTokenResponse {
  access_token: string
  token_type?: string
  expires_in?: number
  refresh_token?: string
  scope?: string
  [k: string]: unknown
}

export function parseTokenResponse(res: HttpResponse, what: string): OAuthTokenResponse {
  const body = parseJsonBody(res, what)
  const b = body as Partial<OAuthTokenResponse> | null
  if (!b || typeof b !== 'object' || typeof b.access_token !== 'string' || b.access_token.length === 0) {
    throw new ProviderHttpError(`${what}: malformed response (no access_token)`, {
      status: res.status,
      hint: 'the provider answered with something unexpected; try again, or check the endpoint URL',
    })
  }
  checkToken(b.access_token, what)
  if (b.refresh_token !== undefined && b.refresh_token !== null && b.refresh_token !== '') checkToken(b.refresh_token, `${what} (refresh token)`)
  // Not finite, not positive, or more than 366 days: ignored in favour of the next source.
  if (saneIn(b.expires_in, 0) === undefined) delete b.expires_in
  return b as OAuthTokenResponse
}
