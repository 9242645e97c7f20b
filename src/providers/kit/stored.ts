import { AuthRequiredError } from '../../kernel/errors.js'
import type { Credential, TokenSet } from '../../kernel/types.js'

/**
 * A key or token the login keeps in secret field `field`, handed out as a Bearer token with the
 * expiry recorded at login (`data.expiresAt`); none kept is exit 4 saying how to store one.
 */
export function storedBearer(cred: Credential, field: string, missing: { what: string; hint: string }): TokenSet {
  const t = cred.secret[field]
  if (!t) throw new AuthRequiredError(`no ${missing.what} is stored in this profile`, { hint: missing.hint })
  const exp = cred.data.expiresAt
  return { accessToken: t, tokenType: 'Bearer', scopes: [], ...(typeof exp === 'string' && exp ? { expiresAt: Date.parse(exp) } : {}) }
}
