import { cleanText } from '../kernel/sanitize.js'
import { connectResp, type Reply } from './resp.js'
import { parseRedisUrl, redactRedisUrl, SharedCacheError, type SharedCache } from './shared.js'

const UNLOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`
/** A lock with no expiry (PTTL -1) or one longer than its documented lifetime is bogus: delete it. */
const BREAK_BOGUS = `local t = redis.call('pttl', KEYS[1]) if t == -1 or t > tonumber(ARGV[1]) then redis.call('del', KEYS[1]) return 1 end return 0`
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`

/**
 * The shared cache on Redis (resp.ts, loaded only when AUTHCTL_CACHE is set). No offline queue,
 * no reconnect loop, connect and command timeouts: an unreachable or slow Redis is a quick
 * SharedCacheError, never a hang.
 */
export async function connectRedis(url: string, timeoutMs: number): Promise<SharedCache> {
  const display = redactRedisUrl(url)
  const target = parseRedisUrl(url) // checked before (cli/fleet.ts): exit 2 there
  // A server (or a proxy) may repeat a command's arguments in its error: never the password.
  // (Values of 4 characters or more: hiding a one-letter user name would garble the message.)
  const hidden = [target.password, target.username].filter((v): v is string => (v?.length ?? 0) >= 4)
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      // A server's words are data: no terminal control sequences reach a message (Trust rules).
      let msg = cleanText(String((err as Error)?.message ?? err).split('\n')[0] ?? '')
      for (const h of hidden) msg = msg.split(h).join('***')
      throw new SharedCacheError(`shared cache ${display}: ${what} failed (${msg.slice(0, 160)})`)
    }
  }
  const conn = await wrap('connect', async () => {
    const c = await connectResp(target, timeoutMs)
    // A refused PING (NOAUTH: a password is needed) leaves the connection open: close it, or
    // the process would wait for Redis to hang up before exiting.
    await c.command(['PING']).catch((err) => {
      c.close()
      throw err
    })
    return c
  })
  const cmd = (...args: Array<string | number>) => conn.command(args)
  return {
    display,
    get: (key) => wrap('read', async () => text(await cmd('GET', key))),
    set: (key, value, ttlMs) => wrap('write', async () => void (await cmd('SET', key, value, 'PX', Math.max(1, Math.round(ttlMs))))),
    tryLock: (key, owner, ttlMs) => wrap('lock', async () => (await cmd('SET', key, owner, 'PX', ttlMs, 'NX')) === 'OK'),
    breakBogusLock: (key, maxTtlMs) => wrap('lock check', async () => (await cmd('EVAL', BREAK_BOGUS, 1, key, String(maxTtlMs))) === 1),
    extend: (key, owner, ttlMs) => wrap('lock refresh', async () => (await cmd('EVAL', EXTEND, 1, key, owner, String(ttlMs))) === 1),
    unlock: (key, owner) => wrap('unlock', async () => void (await cmd('EVAL', UNLOCK, 1, key, owner))),
    ping: () => wrap('ping', async () => void (await cmd('PING'))),
    close: async () => conn.close(),
  }
}

/** A GET reply: a string or nil; anything else (another type under our key) is an error. */
function text(r: Reply): string | null {
  if (r === null || typeof r === 'string') return r
  throw new Error('the key holds something other than a string')
}
