import { chmodSync, statSync } from 'node:fs'
import { UsageError } from './errors.js'

/**
 * "The config dir is ours" (CONTRACT 0.2): a directory owned by another user is refused (exit 2,
 * naming it) before anything is read from or written to it; one of ours that group or others
 * can write is tightened to 0700 with one warning line. A missing directory is fine (it is
 * created 0700 on first write).
 */
export function guardConfigDir(dir: string, warn: (line: string) => void, uid = process.getuid?.()): void {
  let st: import('node:fs').Stats
  try {
    st = statSync(dir)
  } catch {
    return // missing (created later) or unreadable (reported by the read or write that follows)
  }
  if (!st.isDirectory()) return
  if (uid !== undefined && st.uid !== uid) {
    throw new UsageError(`the config dir ${dir} is owned by another user (uid ${st.uid}); authctl will not use it`, {
      hint: 'point AUTHCTL_CONFIG_DIR at a directory of your own, or give this one to your user',
    })
  }
  if ((st.mode & 0o022) !== 0) {
    try {
      chmodSync(dir, 0o700)
    } catch {
      throw new UsageError(`the config dir ${dir} is writable by group or others and cannot be tightened`, { hint: `run \`chmod 700 ${dir}\`` })
    }
    warn(`the config dir ${dir} was writable by group or others (mode ${(st.mode & 0o777).toString(8)}); tightened to 0700`)
  }
}
