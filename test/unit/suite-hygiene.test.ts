import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const TEST = join(__dirname, '..')

/** A temp dir in the system temp dir made by hand: only tempDir() removes its dirs after the file. */
const HAND_MADE_TEMP = /mkdtemp(Sync)?\(\s*(join\(\s*)?(os\.)?tmpdir\(\)/

describe('the suite cleans up after itself', () => {
  it('temp dirs come from tempDir() (test/helpers/tmp.ts), which removes them after each file', () => {
    const offenders = readdirSync(TEST, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.ts') && f !== join('helpers', 'tmp.ts') && f !== relative(TEST, __filename))
      .filter((f) => HAND_MADE_TEMP.test(readFileSync(join(TEST, f), 'utf8')))
    expect(offenders).toEqual([])
  })

  it('the check sees the pattern that left ~20 dirs per run in /tmp (test/e2e/oauth2.test.ts before)', () => {
    expect(HAND_MADE_TEMP.test("AUTHCTL_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'e2e-oauth2-'))")).toBe(true)
    expect(HAND_MADE_TEMP.test("const dir = tempDir('e2e-oauth2-')")).toBe(false)
  })
})
