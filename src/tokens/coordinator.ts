import { join } from 'node:path'
import { withFileLock } from '../kernel/lock.js'
import type { ProfileRef } from '../kernel/profile.js'
import type { Credential, TokenSet } from '../kernel/types.js'
import { slotId, type TokenCache } from './token-cache.js'

/** What one renewal produced: the token, and the grant it leaves current (for a shared entry). */
export interface Renewal {
  token: TokenSet
  grant?: Record<string, string>
}

/** Renews with `cred` (the newest grant the coordinator knows), stamping generation `gen`. */
export type RenewFn = (gen: number, cred: Credential) => Promise<Renewal>

/**
 * Who may renew a slot, and how the others learn the result. The token service runs one
 * algorithm over it: serve `latest()` when fresh; otherwise `exclusive()`, which either renews or
 * hands back a token newer than `floor` that another process (or machine) renewed meanwhile.
 */
export interface Coordinator {
  /** The newest token known for the slot, from wherever this coordinator looks. */
  latest(): Promise<TokenSet | undefined>
  exclusive(floor: number, renew: RenewFn): Promise<TokenSet>
}

/** A generation newer than `seen`: issue time in ms, forced strictly above what was seen. */
export function nextGeneration(seen: number, now: number): number {
  return Math.max(seen + 1, now)
}

export interface SlotContext {
  ref: ProfileRef
  slot: string
  cred: Credential
  /** Key material of the slot's cache entries. */
  material: Buffer
  cache: TokenCache
  now(): number
  debug(line: string): void
}

/**
 * One machine: the on-disk cache and a file lock per slot. Waiters re-read the cache after the
 * lock and adopt what the holder renewed, so N processes make one renewal (a second Lucidworks
 * renewal would kill the token the first process just handed out).
 */
export function localCoordinator(s: SlotContext, lockDir: string, servable: (t: TokenSet) => boolean): Coordinator {
  const lockFile = join(lockDir, `${s.ref.provider}-${s.ref.profile}-${slotId(s.slot)}.lock`)
  return {
    latest: async () => s.cache.read(s.ref, s.slot, s.material),
    exclusive: (floor, renew) =>
      withFileLock(
        lockFile,
        async () => {
          const cached = s.cache.read(s.ref, s.slot, s.material)
          if (cached && ((cached.generation ?? 0) > floor || servable(cached))) {
            s.debug(`adopted a token renewed by another process (${s.ref.provider}/${s.ref.profile}/${s.slot})`)
            return cached
          }
          return (await renew(nextGeneration(cached?.generation ?? 0, s.now()), s.cred)).token
        },
        { onWait: (h) => s.debug(`waiting for renewal lock held by pid ${h?.pid ?? '?'}`) },
      ),
  }
}
