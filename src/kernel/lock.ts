import { randomBytes } from 'node:crypto'
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { LockTimeoutError } from './errors.js'
import { ensurePrivateDir, fsError, pidAlive } from './fsutil.js'

export interface LockOptions {
  /** A lock whose holder is gone, or not refreshed for this long, is taken over. */
  staleMs?: number
  /** Give up waiting after this long. */
  timeoutMs?: number
  /** Called once when the lock is busy and we start waiting (for a --verbose line). */
  onWait?: (holder: LockHolder | undefined) => void
}

export interface LockHolder {
  pid: number
  host: string
  nonce: string
}

/** Polling interval while waiting; jittered so that waiters do not move in lockstep. */
const POLL_MS = 30
/** Longest wait for a live holder (CONTRACT: at most 120 s, then exit 6). */
export const LOCK_WAIT_MS = 118_000
/** A lock file dated further ahead than this was not written by a live authctl's clock. */
export const FUTURE_MTIME_MS = 60_000

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as LockHolder
    return typeof parsed.pid === 'number' && typeof parsed.nonce === 'string' ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * True when the lock at `path` was left by a dead process, has not been refreshed in `staleMs`,
 * or is dated more than 60 s in the future (a clock jump or a copied file would wedge it).
 */
export function isStale(path: string, staleMs: number, now = Date.now()): boolean {
  let mtimeMs: number
  try {
    mtimeMs = statSync(path).mtimeMs
  } catch {
    return false
  }
  const holder = readHolder(path)
  if (holder && holder.host === hostname() && !pidAlive(holder.pid)) return true
  return now - mtimeMs > staleMs || mtimeMs - now > FUTURE_MTIME_MS
}

function tryCreate(path: string, me: LockHolder): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw fsError(err, path)
  }
  try {
    writeSync(fd, JSON.stringify({ ...me, at: new Date().toISOString() }))
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * Takes over a stale lock. Two waiters may see the same stale lock; the rename moves exactly one
 * inode, and a waiter that finds it moved a *live* lock (another nonce) puts it back.
 */
function breakStale(path: string, staleHolder: LockHolder | undefined): void {
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`
  try {
    renameSync(path, aside)
  } catch {
    return // already gone: somebody else broke it
  }
  const moved = readHolder(aside)
  if (staleHolder && moved && moved.nonce !== staleHolder.nonce) {
    try {
      linkSync(aside, path) // restore the live lock we moved by mistake
    } catch {
      /* a third process holds the path now; the moved holder keeps running either way */
    }
  }
  rmSync(aside, { force: true })
}

/**
 * Runs `fn` while holding an exclusive lock file at `path` (O_EXCL create), across processes on
 * this machine. The holder refreshes the file's mtime while it works; a lock left by a process
 * that died (kill -9) is detected by its pid and taken over at once.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const staleMs = opts.staleMs ?? 30_000
  const timeoutMs = Math.min(opts.timeoutMs ?? LOCK_WAIT_MS, LOCK_WAIT_MS)
  const me: LockHolder = { pid: process.pid, host: hostname(), nonce: randomBytes(12).toString('hex') }
  ensurePrivateDir(dirname(path))
  const start = Date.now()
  let announced = false
  while (!tryCreate(path, me)) {
    const holder = readHolder(path)
    if (isStale(path, staleMs)) {
      breakStale(path, holder)
      continue
    }
    if (!announced) {
      announced = true
      opts.onWait?.(holder)
    }
    if (Date.now() - start > timeoutMs) {
      const who = holder ? `pid ${holder.pid} on ${holder.host || 'an unknown host'}` : 'another process'
      throw new LockTimeoutError(`lock held by ${who}: gave up waiting for ${path} after ${Math.round(timeoutMs / 1000)} s`, {
        hint: holder ? `if pid ${holder.pid} is stuck, stop it; if no authctl is running, delete ${path}` : `if no other authctl is running, delete ${path}`,
      })
    }
    await new Promise((r) => setTimeout(r, POLL_MS + Math.random() * POLL_MS))
  }
  const beat = setInterval(
    () => {
      try {
        const t = new Date()
        utimesSync(path, t, t)
      } catch {
        /* lock taken away; nothing useful to do */
      }
    },
    Math.max(1000, staleMs / 3),
  )
  beat.unref()
  try {
    return await fn()
  } finally {
    clearInterval(beat)
    if (readHolder(path)?.nonce === me.nonce) rmSync(path, { force: true })
  }
}
