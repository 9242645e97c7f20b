import { redactRedisUrl, SharedCacheError, type SharedCache } from './shared.js'

const UNLOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
/** A lock with no expiry (PTTL -1) or one longer than its documented lifetime is bogus: delete it. */
const BREAK_BOGUS = `local t = redis.call('pttl', KEYS[1]) if t == -1 or t > tonumber(ARGV[1]) then redis.call('del', KEYS[1]) return 1 end return 0`
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`

/**
 * The shared cache on Redis (ioredis, required only when AUTHCTL_CACHE is set). No offline
 * queue, no reconnect loop, connect and command timeouts: an unreachable or slow Redis is a
 * quick SharedCacheError, never a hang.
 */
export async function connectRedis(url: string, timeoutMs: number): Promise<SharedCache> {
  const display = redactRedisUrl(url)
  const { Redis } = await import('ioredis')
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  })
  client.on('error', () => {}) // surfaced through the rejected command instead
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      const msg = String((err as Error)?.message ?? err)
        .split('\n')[0]
        ?.slice(0, 160)
      throw new SharedCacheError(`shared cache ${display}: ${what} failed (${msg})`)
    }
  }
  await wrap('connect', async () => {
    await client.connect()
    await client.ping()
  })
  return {
    display,
    get: (key) => wrap('read', () => client.get(key)),
    set: (key, value, ttlMs) => wrap('write', async () => void (await client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs))))),
    tryLock: (key, owner, ttlMs) => wrap('lock', async () => (await client.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK'),
    breakBogusLock: (key, maxTtlMs) => wrap('lock check', async () => (await client.eval(BREAK_BOGUS, 1, key, String(maxTtlMs))) === 1),
    extend: (key, owner, ttlMs) => wrap('lock refresh', async () => (await client.eval(EXTEND, 1, key, owner, String(ttlMs))) === 1),
    unlock: (key, owner) => wrap('unlock', async () => void (await client.eval(UNLOCK, 1, key, owner))),
    ping: () => wrap('ping', async () => void (await client.ping())),
    close: async () => void client.disconnect(),
  }
}
