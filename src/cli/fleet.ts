import { UsageError } from '../kernel/errors.js'
import { parseRedisUrl } from '../store/shared.js'
import { fleetKeyFrom, type SharedCache } from '../tokens/shared-cache.js'
import type { Env } from './settings.js'

/** Connect and command timeout of the shared cache: a slow Redis must not slow every call much. */
export const SHARED_CACHE_TIMEOUT_MS = 1500

/** How long a process that outlives one call (the library) leaves a Redis alone after it failed. */
export const FLEET_RETRY_AFTER_MS = 30_000

/**
 * What a long-lived process remembers about the shared cache from one call to the next (the
 * library; a CLI process makes one call): when a Redis may be tried again after it failed.
 */
export interface FleetMemory {
  retryAt: Map<string, number>
}

/**
 * The runner fleet's shared cache: AUTHCTL_CACHE and AUTHCTL_CACHE_KEY, checked, and the Redis
 * connection, made on first use (store/redis.ts and store/resp.ts load only then).
 */
export class Fleet {
  private shared?: Promise<SharedCache | undefined>

  constructor(
    private readonly env: Env,
    private readonly warn: (line: string) => void,
    private readonly memory?: FleetMemory,
  ) {}

  /** AUTHCTL_CACHE_KEY, checked (exit 2 when missing or shorter than 32 bytes). */
  key(): Buffer {
    return fleetKeyFrom(this.env.AUTHCTL_CACHE_KEY)
  }

  /** AUTHCTL_CACHE, validated (a redis:// or rediss:// URL, with a fleet key), or undefined. */
  url(): string | undefined {
    const raw = this.env.AUTHCTL_CACHE
    if (!raw) return undefined
    // No URL-shaped example: messages are URL-redacted, which would mangle one with user info.
    const hint = {
      hint: 'use a redis:// or rediss:// (TLS) URL: host, port, the database number as its path, the password as its user info (README: "Runner fleets")',
    }
    try {
      parseRedisUrl(raw)
    } catch (err) {
      throw new UsageError(`AUTHCTL_CACHE: ${(err as Error).message}`, hint)
    }
    this.key()
    return raw
  }

  /** The shared cache, connected on first use. Unreachable: one warning line, then undefined (the local cache and lock take over). */
  cache(): Promise<SharedCache | undefined> {
    this.shared ??= (async () => {
      const url = this.url()
      if (!url) return undefined
      // Failed a moment ago (warned then): the local cache and lock, without waiting on it again.
      if ((this.memory?.retryAt.get(url) ?? 0) > Date.now()) return undefined
      const { connectRedis } = await import('../store/redis.js')
      try {
        return await connectRedis(url, SHARED_CACHE_TIMEOUT_MS)
      } catch (err) {
        this.memory?.retryAt.set(url, Date.now() + FLEET_RETRY_AFTER_MS)
        this.warn(`${(err as Error).message}; using the local cache and lock`)
        return undefined
      }
    })()
    return this.shared
  }

  async close(): Promise<void> {
    if (this.shared) await (await this.shared.catch(() => undefined))?.close()
  }
}
