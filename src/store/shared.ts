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
    else if (u.username) u.username = '***' // user info without a colon may be a password typed there
    for (const k of [...u.searchParams.keys()]) if (/^(password|pass|auth)$/i.test(k)) u.searchParams.set(k, '***')
    return u.toString()
  } catch {
    return '<invalid url>'
  }
}

/** Where AUTHCTL_CACHE points. */
export interface RedisTarget {
  host: string
  port: number
  tls: boolean
  username?: string
  password?: string
  db?: number
  family?: 4 | 6
}

/**
 * `redis://[[user]:password@]host[:port][/db][?password=…&username=…&db=…&family=4|6]`, or
 * `rediss://…` for TLS; what ioredis accepted (the URL's own parts win over the query).
 */
export function parseRedisUrl(raw: string): RedisTarget {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new Error('not a URL')
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`not a redis:// or rediss:// URL (got ${u.protocol}//…)`)
  const q = u.searchParams
  const target: RedisTarget = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: u.port ? Number(u.port) : 6379,
    tls: u.protocol === 'rediss:',
  }
  const username = u.username ? decodeURIComponent(u.username) : q.get('username')
  const password = u.password ? decodeURIComponent(u.password) : q.get('password')
  if (username) target.username = username
  if (password) target.password = password
  const db = u.pathname.length > 1 ? u.pathname.slice(1) : q.get('db')
  if (db) {
    // Not echoed: a password with an unencoded '/' ends up here.
    if (!/^\d{1,5}$/.test(db)) throw new Error('the database (the URL path) must be a number; percent-encode any / # ? @ in the password')
    target.db = Number(db)
  }
  const family = q.get('family')
  if (family === '4' || family === '6') target.family = Number(family) as 4 | 6
  return target
}
