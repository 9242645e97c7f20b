import { createHash } from 'node:crypto'
import { readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { TokenSet } from '../providers/types.js'
import { writeFileAtomic } from '../kernel/fsutil.js'
import type { ProfileRef } from '../kernel/profile.js'
import { openToken, sealToken } from '../kernel/seal.js'

/** Renew when less than this is left (google DEFAULT_EAGER_REFRESH_THRESHOLD_MILLIS). */
export const DEFAULT_MIN_TTL_MS = 5 * 60 * 1000

/** What `status` may show without decrypting: slot, scopes and expiry are not secret. */
export interface CacheEntryMeta {
  slot: string
  scopes: string[]
  expiresAt?: number
  obtainedAt: number
}

interface CacheFile {
  v: 1
  slot: string
  scopes: string[]
  expires_at: number | null
  obtained_at: number
  salt: string
  iv: string
  tag: string
  ct: string
}

/**
 * On-disk token cache, one file per provider/profile/slot (a slot is a scope or scope set).
 * Each entry is AES-256-GCM encrypted under a key derived (HKDF-SHA256) from `keyMaterial`,
 * which comes from the credential itself: only a holder of the secret can read the token, and
 * a changed secret simply misses (authentication fails, the entry is treated as absent).
 */
export class TokenCache {
  constructor(readonly dir: string) {}

  private profileDir(ref: ProfileRef): string {
    return join(this.dir, 'cache', ref.provider, ref.profile)
  }

  private file(ref: ProfileRef, slot: string): string {
    return join(this.profileDir(ref), `${slotId(slot)}.json`)
  }

  read(ref: ProfileRef, slot: string, keyMaterial: Buffer): TokenSet | undefined {
    const entry = readEntry(this.file(ref, slot))
    if (!entry || entry.slot !== slot) return undefined
    return openToken(entry, keyMaterial, info(ref, slot))
  }

  write(ref: ProfileRef, slot: string, keyMaterial: Buffer, token: TokenSet): void {
    const entry: CacheFile = {
      v: 1,
      slot,
      scopes: [...(token.scopes ?? [])],
      expires_at: token.expiresAt ?? null,
      obtained_at: token.obtainedAt ?? Date.now(),
      ...sealToken(token, keyMaterial, info(ref, slot)),
    }
    writeFileAtomic(this.file(ref, slot), JSON.stringify(entry))
  }

  /**
   * write() for a token that exists already (just issued, or adopted from the shared cache): a
   * failure (a read-only or full disk) must not lose it, so it is returned instead of thrown.
   */
  keep(ref: ProfileRef, slot: string, keyMaterial: Buffer, token: TokenSet): Error | undefined {
    try {
      this.write(ref, slot, keyMaterial, token)
      return undefined
    } catch (err) {
      return err as Error
    }
  }

  /** Entry metadata without decrypting anything (for `status`). */
  list(ref: ProfileRef): CacheEntryMeta[] {
    let names: string[]
    try {
      names = readdirSync(this.profileDir(ref)).filter((n) => n.endsWith('.json'))
    } catch {
      return []
    }
    const out: CacheEntryMeta[] = []
    for (const n of names) {
      const e = readEntry(join(this.profileDir(ref), n))
      if (e) {
        const meta: CacheEntryMeta = { slot: e.slot, scopes: e.scopes, obtainedAt: e.obtained_at }
        if (e.expires_at !== null) meta.expiresAt = e.expires_at
        out.push(meta)
      }
    }
    return out.sort((a, b) => a.slot.localeCompare(b.slot))
  }

  /** Removes every cached token of the profile; true when there was something to remove. */
  clear(ref: ProfileRef): boolean {
    const had = this.list(ref).length > 0
    rmSync(this.profileDir(ref), { recursive: true, force: true })
    return had
  }
}

function readEntry(file: string): CacheFile | undefined {
  try {
    const e = JSON.parse(readFileSync(file, 'utf8')) as CacheFile
    return e.v === 1 && typeof e.ct === 'string' && typeof e.slot === 'string' ? e : undefined
  } catch {
    return undefined
  }
}

function info(ref: ProfileRef, slot: string): string {
  return `authctl token cache v1\0${ref.provider}\0${ref.profile}\0${slot}`
}

/** File-name-safe id for a slot (scopes may contain `:` or `/`). */
export function slotId(slot: string): string {
  return createHash('sha256').update(slot).digest('hex').slice(0, 24)
}

/** True when the token has more than `minTtlMs` left (tokens without expiry always do). */
export function isFresh(token: TokenSet, minTtlMs: number, now: number): boolean {
  return token.expiresAt === undefined || token.expiresAt - now > minTtlMs
}

/**
 * The largest minimum TTL a freshly issued token of this lifetime can satisfy: lifetime − 60 s,
 * or half the lifetime for tokens shorter than 2 minutes. A larger `--min-ttl` would make every
 * call renew (and, on Lucidworks, kill every other process's token), so it is clamped to this.
 */
export function maxMinTtlMs(lifetimeMs: number): number {
  return lifetimeMs < 120_000 ? Math.floor(lifetimeMs / 2) : lifetimeMs - 60_000
}

/** A token's lifetime (expiry − issue) in ms, when both are known and sane. */
export function lifetimeMs(token: TokenSet): number | undefined {
  if (token.expiresAt === undefined || token.obtainedAt === undefined) return undefined
  const l = token.expiresAt - token.obtainedAt
  return Number.isFinite(l) && l > 0 ? l : undefined
}

/** `minTtlMs` clamped to what a token of this one's lifetime can satisfy (see maxMinTtlMs). */
export function clampMinTtl(minTtlMs: number, token: TokenSet): { minTtlMs: number; clampedFrom?: number; lifetimeMs?: number } {
  const life = lifetimeMs(token)
  if (life === undefined) return { minTtlMs }
  const max = maxMinTtlMs(life)
  return minTtlMs >= max ? { minTtlMs: max, clampedFrom: minTtlMs, lifetimeMs: life } : { minTtlMs, lifetimeMs: life }
}

/**
 * How much earlier than its minimum TTL `exec --keep-fresh` renews: a quarter of the slack
 * between the two (1–60 s, at most half the slack). Renewing ahead of peers that use the same
 * `--min-ttl` means they adopt our token instead of replacing it, and a 1 s tick is never late.
 */
export function keepFreshLeadMs(minTtlMs: number, lifetime: number): number {
  const slack = Math.max(0, lifetime - minTtlMs)
  return Math.min(slack / 2, Math.min(60_000, Math.max(1_000, slack / 4)))
}
