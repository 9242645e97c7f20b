import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/**
 * Every file under `dir` except lock files, as relative path → base64 content: the stored
 * credentials and cached tokens, for "nothing changed" assertions. A missing dir is empty.
 */
export function snapshotDir(dir: string): Record<string, string> {
  let entries: import('node:fs').Dirent[]
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true })
  } catch {
    return {}
  }
  const out: Record<string, string> = {}
  for (const d of entries) {
    const p = join(d.parentPath, d.name)
    if (d.isFile() && !relative(dir, p).startsWith('locks')) out[relative(dir, p)] = readFileSync(p, 'base64')
  }
  return out
}
