import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, scryptSync } from 'node:crypto'
import type { Credential, TokenSet } from '../kernel/types.js'

export { redactRedisUrl, SharedCacheError, type SharedCache } from '../store/shared.js'
import { AuthctlError, ExitCode, UsageError, type ExitCodeValue } from '../kernel/errors.js'

/** Another runner's renewal lock did not clear in time (exit 6, like any lock wait timeout). */
export class SharedLockTimeoutError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_LOCK_TIMEOUT'
  override readonly exitCode: ExitCodeValue = ExitCode.Store
}

/** Shortest fleet key (AUTHCTL_CACHE_KEY) accepted, in bytes. */
export const FLEET_KEY_MIN_BYTES = 32

/** AUTHCTL_CACHE_KEY, checked: exit 2 with the way to make one when it is missing or short. */
export function fleetKeyFrom(raw: string | undefined): Buffer {
  const hint = { hint: 'create one with `openssl rand -base64 32`, keep it like a password, and set it as AUTHCTL_CACHE_KEY on every runner of the fleet' }
  if (!raw) throw new UsageError('AUTHCTL_CACHE is set but AUTHCTL_CACHE_KEY (the fleet key) is not', hint)
  const key = Buffer.from(raw, 'utf8')
  if (key.length < FLEET_KEY_MIN_BYTES) throw new UsageError(`AUTHCTL_CACHE_KEY is too short (${key.length} bytes; at least ${FLEET_KEY_MIN_BYTES})`, hint)
  return key
}

/** Secret fields that change on their own (rotated grants) or are per-machine (cache keys). */
const UNSTABLE = new Set(['refreshToken', 'refreshTokenPrev', 'grantGen', 'cacheKey'])

/**
 * A digest of what every runner holding the same credential has alike: its stable secret
 * fields and identity. A refresh-token grant is one login's lineage (copied between machines,
 * never re-created alike), so its random per-login `cacheKey` is part of it: two users of one
 * OAuth app never meet, even with no user id. Passwords go through scrypt, so even a holder of
 * the fleet key cannot test password guesses quickly against an entry.
 */
function credentialDigest(cred: Credential): Buffer {
  const grantLineage = cred.secret.refreshToken && cred.secret.cacheKey ? cred.secret.cacheKey : null
  const secret = Object.entries(cred.secret)
    .filter(([k]) => !UNSTABLE.has(k))
    .sort()
  const canonical = JSON.stringify(['authctl shared v2', cred.kind, secret, grantLineage, identity(cred)])
  if (cred.kind === 'password') return scryptSync(canonical, 'authctl shared cache v2', 32, { N: 8192, r: 8, p: 1 })
  return createHash('sha256').update(canonical).digest()
}

function identity(cred: Credential): unknown[] {
  return [cred.data.clientId ?? null, cred.data.email ?? null, cred.data.userId ?? null]
}

/** One provider/slot of one credential in the shared cache: its Redis names and entry key. */
export interface SharedSlot {
  name: string
  lock: string
  /** Associated data of the entry: binds it to this slot (no swapping entries between slots). */
  aad: Buffer
  key: Buffer
}

/**
 * Names are HMAC-SHA256 under a key derived from the fleet key, over the provider, slot and the
 * credential's public identity (never a password or secret): without the fleet key they cannot
 * be computed, and with it they reveal nothing that was not public. The one secret input is a
 * refresh-token login's random cache key (256 bits), which keeps two logins of one app apart.
 * The entry key is HKDF-SHA256 of the fleet key and the credential digest.
 */
export function sharedSlot(fleetKey: Buffer, cred: Credential, provider: string, slot: string): SharedSlot {
  const nameKey = Buffer.from(hkdfSync('sha256', fleetKey, Buffer.alloc(0), 'authctl shared v2 names', 32))
  const lineage = cred.secret.refreshToken && cred.secret.cacheKey ? createHash('sha256').update(cred.secret.cacheKey).digest('hex') : null
  const id = createHmac('sha256', nameKey)
    .update(JSON.stringify([provider, slot, cred.kind, identity(cred), lineage]))
    .digest('hex')
    .slice(0, 32)
  const key = Buffer.from(hkdfSync('sha256', fleetKey, credentialDigest(cred), 'authctl shared v2 entry', 32))
  const name = `authctl:v2:token:${id}`
  return { name, lock: `authctl:v2:lock:${id}`, aad: Buffer.from(`authctl shared v2\0${provider}\0${slot}\0${name}`), key }
}

/** What one entry binds together: the token, the grant current when it was issued, its generation. */
export interface SharedEntry {
  /** Strictly increasing per slot (max(previous + 1, issue time in ms)). */
  gen: number
  token: TokenSet
  /** Rotating secret fields (a refresh token) as they were right after this renewal. */
  grant?: Record<string, string>
}

/** `{"v":2,"iv","ct","tag"}`: AES-256-GCM of the JSON entry, the slot as associated data. */
export function sealEntry(s: SharedSlot, entry: SharedEntry): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', s.key, iv)
  c.setAAD(s.aad)
  const ct = Buffer.concat([c.update(JSON.stringify(entry), 'utf8'), c.final()])
  return JSON.stringify({ v: 2, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') })
}

/** The entry, or undefined when it does not verify under this slot's key and place (a miss). */
export function openEntry(s: SharedSlot, raw: string): SharedEntry | undefined {
  try {
    const box = JSON.parse(raw) as { v: number; iv: string; ct: string; tag: string }
    if (box.v !== 2) return undefined
    const d = createDecipheriv('aes-256-gcm', s.key, Buffer.from(box.iv, 'base64'))
    d.setAAD(s.aad)
    d.setAuthTag(Buffer.from(box.tag, 'base64'))
    const e = JSON.parse(Buffer.concat([d.update(Buffer.from(box.ct, 'base64')), d.final()]).toString('utf8')) as SharedEntry
    if (!Number.isSafeInteger(e.gen) || typeof e.token?.accessToken !== 'string') return undefined
    if (e.grant !== undefined && (typeof e.grant !== 'object' || Object.values(e.grant).some((v) => typeof v !== 'string'))) return undefined
    return e
  } catch {
    return undefined
  }
}
