import { randomBytes } from 'node:crypto'
import type { Credential, TokenSet } from '../kernel/types.js'
import { type Coordinator, nextGeneration, type RenewFn, type SlotContext } from './coordinator.js'
import { openEntry, type SharedCache, type SharedEntry, SharedLockTimeoutError, type SharedSlot, sealEntry } from './shared-cache.js'

/** Lifetime of a shared renewal lock; its holder refreshes it, a dead holder's lapses. */
export const SHARED_LOCK_TTL_MS = 10_000
/** Longest wait for another runner's renewal (CONTRACT: no runner waits more than 30 s). */
export const SHARED_WAIT_MS = 30_000
/** The wait for another runner's renewal: AUTHCTL_SHARED_WAIT_MS (a testing knob) can shorten it to 100 ms, never lengthen it. */
export function sharedWaitMs(env: Readonly<Record<string, string | undefined>>): number {
  const n = Number(env.AUTHCTL_SHARED_WAIT_MS || Number.NaN)
  return Number.isFinite(n) ? Math.min(SHARED_WAIT_MS, Math.max(100, Math.round(n))) : SHARED_WAIT_MS
}

/** An entry carrying a grant outlives its token, so that idle machines can still follow the grant. */
const SHARED_GRANT_TTL_MS = 30 * 86_400_000
/** Secret field: the generation of the grant a login holds. */
export const GRANT_GEN = 'grantGen'

export interface SharedSlotContext extends SlotContext {
  shared: SharedCache
  /** The slot's keyed-hash names and entry keys. */
  names: SharedSlot
  /** Adopts a shared entry's grant when it is newer than the one `cred` holds; returns the credential to use. */
  followGrant(cred: Credential, e: SharedEntry): Promise<Credential>
  /** Loads the HTTP client (before relying on a lock: a slow synchronous load can outlast it). */
  warmUp(): Promise<unknown>
  /** The entry could not be written: the token stays local. */
  onWriteFailure(err: Error): void
  /** The longest wait for another runner's renewal (SHARED_WAIT_MS unless shortened for tests). */
  waitMs: number
}

/** SET NX; a lock with no expiry, or a longer one than it can have, is bogus and broken (`check`). */
async function acquire(s: SharedSlotContext, owner: string, check: boolean): Promise<boolean> {
  const lock = s.names.lock
  const locked =
    (await s.shared.tryLock(lock, owner, SHARED_LOCK_TTL_MS)) ||
    (check && (await s.shared.breakBogusLock(lock, SHARED_LOCK_TTL_MS)) && (await s.shared.tryLock(lock, owner, SHARED_LOCK_TTL_MS)))
  if (!locked) return false
  await s.warmUp()
  return s.shared.extend(lock, owner, SHARED_LOCK_TTL_MS)
}

/** Writes the renewal to Redis; a grant outlives its token there, so idle machines can still follow it. */
async function publish(s: SharedSlotContext, gen: number, renewal: { token: TokenSet; grant?: Record<string, string> }): Promise<void> {
  const left = (renewal.token.expiresAt ?? s.now() + 86_400_000) - s.now()
  const ttl = renewal.grant ? Math.max(left, SHARED_GRANT_TTL_MS) : left
  if (ttl <= 0) return
  const entry = sealEntry(s.names, { gen, token: renewal.token, ...(renewal.grant ? { grant: renewal.grant } : {}) })
  await s.shared.set(s.names.name, entry, ttl).catch((err: unknown) => s.onWriteFailure(err as Error))
}

/**
 * The fleet (AUTHCTL_CACHE): Redis is asked first, and a local copy is served only if Redis holds
 * nothing newer (another machine's renewal may have killed it). Entries are authenticated; one
 * older than what this runner has seen (a rollback) is ignored. One runner renews under
 * SET NX PX; the others poll the entry for a generation newer than the one they started from.
 */
export function sharedCoordinator(s: SharedSlotContext): Coordinator {
  let current = s.cred
  const where = `${s.ref.provider}/${s.ref.profile}/${s.slot}`
  const read = async (): Promise<SharedEntry | undefined> => {
    const raw = await s.shared.get(s.names.name)
    const e = raw ? openEntry(s.names, raw) : undefined
    if (raw && !e) s.debug(`ignored a shared cache entry that does not verify (${where})`)
    return e
  }
  const adopt = async (e: SharedEntry): Promise<TokenSet> => {
    const t = { ...e.token, generation: e.gen }
    // The local copy serves the fallback path; without it (a config dir that cannot be written) the fleet's token still serves.
    const unkept = s.cache.keep(s.ref, s.slot, s.material, t)
    if (unkept) s.debug(`the shared token is not kept locally: ${unkept.message}`)
    current = await s.followGrant(current, e)
    return t
  }
  const renewLocked = async (floor: number, owner: string, renew: RenewFn): Promise<TokenSet> => {
    const beat = setInterval(() => void s.shared.extend(s.names.lock, owner, SHARED_LOCK_TTL_MS).catch(() => undefined), SHARED_LOCK_TTL_MS / 3)
    try {
      const again = await read()
      if (again && again.gen > floor) return adopt(again)
      const gen = nextGeneration(Math.max(floor, Number(current.secret[GRANT_GEN] ?? 0)), s.now())
      const renewal = await renew(gen, current)
      await publish(s, gen, renewal)
      return renewal.token
    } finally {
      clearInterval(beat)
      await s.shared.unlock(s.names.lock, owner).catch(() => undefined)
    }
  }
  return {
    async latest() {
      const local = s.cache.read(s.ref, s.slot, s.material)
      const first = await read()
      return first && first.gen > (local?.generation ?? 0) ? adopt(first) : local
    },
    async exclusive(floor, renew) {
      const owner = randomBytes(12).toString('hex')
      const deadline = Date.now() + s.waitMs
      for (let checked = 0, polls = 0; ; ) {
        const check = Date.now() - checked > 1000
        if (check) checked = Date.now()
        if (await acquire(s, owner, check)) return renewLocked(floor, owner, renew)
        if (polls === 0) s.debug(`waiting for another runner's renewal (${s.shared.display})`)
        // Back off (50 ms → 500 ms, jittered): dozens of waiters must not starve the holder or Redis.
        await new Promise((r) => setTimeout(r, Math.min(500, 50 * 1.5 ** polls++) * (0.5 + Math.random())))
        const t = await read()
        if (t && t.gen > floor) return adopt(t)
        if (Date.now() > deadline) {
          throw new SharedLockTimeoutError(`timed out after ${s.waitMs / 1000} s waiting for another runner's renewal (shared cache ${s.shared.display})`, {
            hint: 'try again; if it keeps happening, something else holds the renewal lock in Redis (check who can write to it)',
          })
        }
      }
    },
  }
}
