import { AuthRequiredError, InvalidGrantError, NotFoundError, ProviderHttpError, UsageError } from '../../kernel/errors.js'
import type { HttpResponse } from '../http.js'

/** Extracts a readable one-line reason from a provider error body. */
export type ErrorReader = (res: HttpResponse) => { code?: string; detail?: string }

export interface FailureContext {
  /** e.g. "LupaSearch login", "Lucidworks client ****abcd token request" */
  what: string
  /** Hint for a refused credential (usually the login command). */
  authHint: string
  /** Hint for 404 (e.g. "see `authctl keys list lupasearch`"). */
  notFoundHint?: string
  /** Hint for an OAuth `invalid_scope` (the valid scopes, a likely intended one). */
  scopeHint?: string
  /** A refused refresh grant (`invalid_grant`) is InvalidGrantError, which the token service recovers from. */
  refreshGrant?: boolean
}

/** OAuth error codes (RFC 6749 §5.2) that mean the client or grant was refused. */
const REFUSED = new Set(['invalid_client', 'invalid_grant', 'unauthorized_client'])

/**
 * The one mapping of a failed HTTP answer to the documented exit codes, for API calls and token
 * endpoints alike: 401/403 or a refused client/grant → 4, `invalid_scope` → 2, 404 → 3, other
 * 4xx except 429 → 2 (a value we sent was refused), 429, 5xx and the rest → 5.
 */
export function failure(res: HttpResponse, read: ErrorReader, c: FailureContext): Error {
  const { code, detail } = read(res)
  const reason = [code, detail].filter(Boolean).join(': ').replace(/\s+/g, ' ').slice(0, 240)
  const msg = `${c.what} failed: HTTP ${res.status}${reason ? ` (${reason})` : ''}`
  if (c.refreshGrant && code === 'invalid_grant') {
    return new InvalidGrantError(`${c.what}: the refresh token was refused (invalid_grant): it was revoked, expired, or already used`, { hint: c.authHint })
  }
  if (res.status === 401 || res.status === 403 || (code && REFUSED.has(code))) return new AuthRequiredError(msg, { hint: c.authHint })
  if (code === 'invalid_scope') return new UsageError(`${c.what}: scope refused (${reason})`, { hint: c.scopeHint ?? 'check --scope' })
  if (res.status === 404) return new NotFoundError(msg, { hint: c.notFoundHint ?? 'check the id and the endpoint URL' })
  if (res.status >= 400 && res.status < 500 && res.status !== 429) return new UsageError(msg, { hint: 'check the values given' })
  return new ProviderHttpError(msg, {
    status: res.status,
    ...(code ? { providerError: code } : {}),
    body: res.body,
    hint: res.status >= 500 ? 'the provider is failing; try again later' : 'try again later',
  })
}

/** RFC 6749 §5.2 error body (and the Okta/Lucid variants), as far as it can be read. */
export const readOAuthError: ErrorReader = (res) => {
  try {
    const b = JSON.parse(res.body) as Record<string, unknown>
    const out: { code?: string; detail?: string } = {}
    if (typeof b.error === 'string') out.code = b.error.slice(0, 100)
    const d = b.error_description ?? b.errorSummary ?? b.message
    if (typeof d === 'string') out.detail = d.replace(/\s+/g, ' ').slice(0, 200)
    return out
  } catch {
    return {}
  }
}
