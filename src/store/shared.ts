/** A failure of the shared cache: never fatal, the caller warns and uses the local cache. */
export class SharedCacheError extends Error {}

/**
 * A token cache and renewal lock shared by many machines (Redis). Values are opaque sealed
 * strings; keys are keyed-hash names. Every method either answers within its timeout or throws
 * SharedCacheError.
 */
export interface SharedCache {
  /** Where it is, with any password removed (for messages and `status`). */
  readonly display: string
  get(key: string): Promise<string | null>
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** SET key owner NX PX ttl: true when this owner now holds the lock. */
  tryLock(key: string, owner: string, ttlMs: number): Promise<boolean>
  /** Deletes the lock when it has no expiry or one longer than `maxTtlMs` (a bogus lock); true if it did. */
  breakBogusLock(key: string, maxTtlMs: number): Promise<boolean>
  /** Extends the lock only if `owner` still holds it; false when it does not. */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>
  /** Deletes the lock only if `owner` still holds it (compare and delete in one script). */
  unlock(key: string, owner: string): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

/** redis://user:pass@host:6379/0?password=x → redis://user:***@host:6379/0?password=*** */
export function redactRedisUrl(raw: string): string {
  try {
    const u = new URL(raw)
    if (u.password) u.password = '***'
    for (const k of [...u.searchParams.keys()]) if (/^(password|pass|auth)$/i.test(k)) u.searchParams.set(k, '***')
    return u.toString()
  } catch {
    return '<invalid url>'
  }
}
