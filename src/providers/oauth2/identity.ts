import { decodeJwtClaims } from '../../kernel/jwt.js'
import { redactUrl } from '../../kernel/redact.js'
import { cleanText, safeIso } from '../../kernel/sanitize.js'
import type { TokenSet } from '../types.js'
import type { OAuth2Settings } from './settings.js'

const text = (v: unknown) => (typeof v === 'string' ? cleanText(v).slice(0, 512) : undefined)

/**
 * `whoami oauth2`: the client id, scopes, expiry and token endpoint; plus the JWT's `sub`,
 * `iss` and `aud` when the access token is a JWT (decoded, not verified: we are its bearer,
 * not its audience). A generic server has no identity endpoint; the token request was the check.
 */
export function identityOf(s: OAuth2Settings, token: TokenSet): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_id: s.clientId,
    grant: s.grant,
    token_url: redactUrl(s.tokenUrl),
    scopes: [...(token.scopes ?? s.scopes)],
    token_type: token.tokenType ?? 'Bearer',
    expires_at: safeIso(token.expiresAt),
  }
  if (s.audience) out.audience = s.audience
  if (s.resource) out.resource = s.resource
  const claims = decodeJwtClaims(token.accessToken)
  if (!claims) return { ...out, jwt: false }
  // A JWT's own scope claim when the answer named none (e.g. a refresh bound to a resource).
  const scp = claims.scope ?? claims.scp
  if ((out.scopes as string[]).length === 0 && (typeof scp === 'string' || Array.isArray(scp))) {
    out.scopes = (Array.isArray(scp) ? scp : scp.split(' ')).map(text).filter(Boolean)
  }
  const aud = Array.isArray(claims.aud) ? claims.aud.map(text).filter(Boolean) : text(claims.aud)
  return {
    ...out,
    jwt: true,
    sub: text(claims.sub) ?? null,
    iss: text(claims.iss) ?? null,
    aud: aud ?? null,
  }
}
