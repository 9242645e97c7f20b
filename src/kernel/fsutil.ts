import { randomBytes } from 'node:crypto'
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { UsageError } from './errors.js'

/** Creates `dir` (and parents) with mode 0700; tightens an existing one that is too open. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = statSync(dir)
    if (!st.isDirectory()) throw new UsageError(`${dir} is not a directory`)
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700)
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw fsError(err, dir)
  }
}

/**
 * Writes `data` to `file` atomically: a 0600 temp file in the same directory, fsync, rename.
 * A crash at any point leaves either the old content or the new, never a mix.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  ensurePrivateDir(dirname(file))
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const fd = openSync(tmp, 'wx', 0o600)
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data
      let off = 0
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw fsError(err, file)
  }
  sweepOrphans(file)
}

/** Temp files of `file` left by processes that died mid-write (kill -9): removed, best effort. */
function sweepOrphans(file: string): void {
  const prefix = `${basename(file)}.`
  let names: string[]
  try {
    names = readdirSync(dirname(file))
  } catch {
    return
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name) : null
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue
    rmSync(join(dirname(file), name), { force: true })
  }
}

/** True when a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Turns an fs failure into a one-line usage error naming the path (exit 2). */
export function fsError(err: unknown, path: string, verb: 'read' | 'write' = 'write'): Error {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new UsageError(`cannot ${verb} ${path}: permission denied`, {
      hint: 'fix the directory permissions or point AUTHCTL_CONFIG_DIR at a writable directory',
      cause: err,
    })
  }
  if (code === 'ENOSPC') return new UsageError(`cannot write ${path}: no space left on device`, { hint: 'free some disk space', cause: err })
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return new UsageError(`cannot use ${path}: a path component is not a directory`, {
      hint: 'point AUTHCTL_CONFIG_DIR at a directory',
      cause: err,
    })
  }
  if (code === 'EISDIR') return new UsageError(`cannot ${verb} ${path}: it is a directory`, { hint: 'move it away', cause: err })
  return err instanceof Error ? err : new Error(String(err))
}
