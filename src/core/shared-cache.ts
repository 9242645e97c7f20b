import { createHash, hkdfSync, scryptSync } from 'node:crypto'
import type { Credential } from '../providers/types.js'

/** A failure of the shared cache: never fatal, the caller warns and uses the local cache. */
export class SharedCacheError extends Error {}

/**
 * A token cache and renewal lock shared by many machines (Redis). Values are opaque sealed
 * strings; keys are namespaced ids derived from the credential. Every method either answers
 * within its timeout or throws SharedCacheError.
 */
export interface SharedCache {
  /** Where it is, with any password removed (for messages and `status`). */
  readonly display: string
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** SET key owner NX PX ttl: true when this owner now holds the lock. */
  tryLock(key: string, owner: string, ttlMs: number): Promise<boolean>
  /** Extends the lock only if `owner` still holds it. */
  extend(key: string, owner: string, ttlMs: number): Promise<void>
  /** Deletes the lock only if `owner` still holds it (compare and delete in one script). */
  unlock(key: string, owner: string): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

/** Secret fields that change on their own (rotated grants) or are per-machine (cache keys). */
const UNSTABLE = new Set(['refreshToken', 'cacheKey'])

/**
 * Key material every runner holding the same credential derives alike: from the stable secret
 * fields and the identity, not from a machine's random cache key. Passwords go through scrypt.
 */
export function sharedKeyMaterial(cred: Credential): Buffer {
  const secret = Object.entries(cred.secret).filter(([k]) => !UNSTABLE.has(k)).sort()
  const who = [cred.data.clientId ?? null, cred.data.email ?? null, cred.data.userId ?? null]
  const canonical = JSON.stringify(['authctl shared v1', cred.kind, secret, who])
  if (cred.kind === 'password') return scryptSync(canonical, 'authctl shared cache v1', 32, { N: 8192, r: 8, p: 1 })
  return createHash('sha256').update(canonical).digest()
}

/**
 * Redis key names for one provider and slot: an HKDF of the credential, so that runners with
 * different credentials never share entries and the names say nothing about the credential.
 * The profile name is not part of it: two machines' profiles with one client share a token,
 * which is the point (Lucidworks keeps one token per client and scope).
 */
export function sharedKeys(material: Buffer, provider: string, slot: string): { token: string; lock: string; info: string } {
  const info = `authctl shared token v1\0${provider}\0${slot}`
  const id = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), `${info}\0id`, 16)).toString('hex')
  return { token: `authctl:v1:token:${id}`, lock: `authctl:v1:lock:${id}`, info }
}

/** redis://user:pass@host:6379/0 → redis://user:***@host:6379/0 */
export function redactRedisUrl(raw: string): string {
  try {
    const u = new URL(raw)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '<invalid url>'
  }
}
