import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const made: string[] = []

/**
 * `mkdtempSync(join(tmpdir(), prefix))`, removed with everything in it after the test file
 * (test/helpers/setup.ts calls removeTempDirs in an afterAll of every file).
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Makes every directory under `dir` writable again (a test may have locked one down). */
function unlock(dir: string): void {
  try {
    chmodSync(dir, 0o700)
    for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) unlock(join(dir, d.name))
  } catch {
    /* gone, or not ours */
  }
}

/** Removes the directories tempDir made (best effort: a test's leftovers never fail a run). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 })
    } catch {
      unlock(dir)
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 2 })
      } catch (err) {
        console.warn(`could not remove ${dir}: ${(err as Error).message}`)
      }
    }
  }
}
