import { ProviderHttpError } from '../../kernel/errors.js'
import { checkToken, cleanText, saneIn } from '../../kernel/sanitize.js'
import type { TokenSet } from '../../kernel/types.js'
import type { HttpResponse } from '../http.js'
import { parseJsonBody } from '../http.js'
import type { ProviderContext } from '../types.js'
import { expiryOf } from './expiry.js'
import { failure, readOAuthError } from './failure.js'

/** A standard token response, validated. */
export interface OAuthTokenResponse {
  access_token: string
  token_type?: string
  expires_in?: number
  refresh_token?: string
  scope?: string
  [k: string]: unknown
}

/** A token response whose tokens are printable and whose `expires_in` is sane (or dropped). */
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

/** RFC 7230 token characters: anything else in token_type could smuggle a header line. */
const TOKEN_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/

/** `token_type` as a header scheme: `bearer` → `Bearer`; a value unfit for a header → `Bearer`. */
export function normaliseTokenType(v: unknown): string {
  if (typeof v !== 'string' || !TOKEN_TYPE.test(v) || v.toLowerCase() === 'bearer') return 'Bearer'
  return v
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicCredentials(clientId: string, clientSecret: string): string {
  const enc = (s: string) => new URLSearchParams({ v: s }).toString().slice(2)
  return Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')
}

/** A TokenSet from a token response, with the one expiry rule (expiryOf; `alsoAt`: a provider's absolute expiry). */
export function tokenFromResponse(body: OAuthTokenResponse, now: number, opts: { scopes?: readonly string[]; alsoAt?: unknown } = {}): TokenSet {
  // Server text: split on any white space, control characters removed (the trust rules).
  const granted = typeof body.scope === 'string' && body.scope ? body.scope.split(/\s+/).map(cleanText).filter(Boolean) : undefined
  return {
    accessToken: body.access_token,
    tokenType: normaliseTokenType(body.token_type),
    expiresAt: expiryOf(now, body.access_token, { expiresIn: body.expires_in, at: opts.alsoAt }),
    obtainedAt: now,
    scopes: granted ?? [...(opts.scopes ?? [])],
  }
}

/** How the client authenticates and how parameters travel (RFC 6749 §2.3.1, §4.4, §6). */
export interface TokenRequest {
  url: string
  params: Record<string, string>
  client: { id: string; secret?: string }
  /**
   * `basic`: HTTP Basic with the id and secret form-urlencoded first (RFC 6749 §2.3.1);
   * `basic-raw`: HTTP Basic of the bytes as given (Okta, i.e. Lucidworks, documents this form);
   * `body`: client_id/client_secret as parameters.
   */
  auth: 'basic' | 'basic-raw' | 'body'
  /** `form` (the standard), `query` (Lucidworks: parameters in the URL, no body) or `json` (Lucid). */
  encoding: 'form' | 'query' | 'json'
  /** For messages: e.g. `Lucidworks client ****abcd`. */
  who: string
  /** The next step when the client or grant is refused. */
  hint: string
  scopeHint?: string
}

/** The request as plain data (no I/O): URL, headers and body for the chosen encoding and client auth. */
export function tokenRequestParts(r: TokenRequest): { url: string; headers: Record<string, string>; body?: string } {
  const params: Record<string, string> = { ...r.params }
  const headers: Record<string, string> = { accept: 'application/json', 'cache-control': 'no-cache' }
  if (r.auth === 'basic') headers.authorization = `Basic ${basicCredentials(r.client.id, r.client.secret ?? '')}`
  else if (r.auth === 'basic-raw') headers.authorization = `Basic ${Buffer.from(`${r.client.id}:${r.client.secret ?? ''}`).toString('base64')}`
  else {
    params.client_id = r.client.id
    if (r.client.secret !== undefined) params.client_secret = r.client.secret
  }
  if (r.encoding === 'json') return { url: r.url, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(params) }
  const form = new URLSearchParams(params)
  if (r.encoding === 'query') {
    const url = new URL(r.url)
    for (const [k, v] of form) url.searchParams.set(k, v)
    return { url: url.toString(), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } }
  }
  return { url: r.url, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }
}

/**
 * One token-endpoint request (any grant): the answer, validated, or the mapped failure. A refused
 * refresh grant is InvalidGrantError, which the token service recovers from (rotation races).
 */
export async function tokenRequest(r: TokenRequest, ctx: ProviderContext): Promise<OAuthTokenResponse> {
  const { url, headers, body } = tokenRequestParts(r)
  const res = await (await ctx.http()).request({ method: 'POST', url, headers, ...(body === undefined ? {} : { body }) })
  if (res.status !== 200) {
    throw failure(res, readOAuthError, {
      what: `${r.who} token request`,
      authHint: r.hint,
      refreshGrant: r.params.grant_type === 'refresh_token',
      ...(r.scopeHint ? { scopeHint: r.scopeHint } : {}),
    })
  }
  return parseTokenResponse(res, `${r.who} token`)
}
