import { jwtExpiryMs } from '../../kernel/jwt.js'
import { pickExpiry, saneAt, saneIn } from '../../kernel/sanitize.js'

/**
 * The one expiry rule for a token a provider issued: its relative `expiresIn` (seconds), then an
 * absolute `at` (epoch ms), then the JWT's `exp`, then one hour from `now`; each only when sane
 * (finite, positive, at most 366 days away).
 */
export function expiryOf(now: number, token: string, opts: { expiresIn?: unknown; at?: unknown } = {}): number {
  return pickExpiry(now, saneIn(opts.expiresIn, now), saneAt(opts.at, now), jwtExpiryMs(token))
}
