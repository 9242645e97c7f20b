import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const TEST = join(__dirname, '..')
const SCRIPTS = join(TEST, '..', 'scripts')
/** The benchmarks (npm run bench, bench:lib): they drive the test kit from dist-dev/bench-kit.cjs. */
const BENCH_SCRIPTS = readdirSync(SCRIPTS).filter((f) => f.endsWith('.mjs') && f !== 'build.mjs' && f !== 'check-design.mjs')

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

  it('so do the benchmarks (kit.tempDir, removed by kit.removeTempDirs at the end)', () => {
    expect(BENCH_SCRIPTS.length).toBeGreaterThan(1)
    expect(BENCH_SCRIPTS.filter((f) => HAND_MADE_TEMP.test(readFileSync(join(SCRIPTS, f), 'utf8')))).toEqual([])
  })

  it('the check sees the pattern that left ~20 dirs per run in /tmp (test/e2e/oauth2.test.ts before)', () => {
    expect(HAND_MADE_TEMP.test("AUTHCTL_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'e2e-oauth2-'))")).toBe(true)
    expect(HAND_MADE_TEMP.test("const dir = tempDir('e2e-oauth2-')")).toBe(false)
  })
})

describe('the benchmarks load what the build writes', () => {
  it('every build output a script requires is an outfile of scripts/build.mjs (bench:lib required ../dist/bench-kit.cjs, moved to dist-dev/)', () => {
    const build = readFileSync(join(SCRIPTS, 'build.mjs'), 'utf8')
    const outfiles = new Set([...build.matchAll(/outfile: '([^']+)'/g)].map((m) => m[1]))
    expect(outfiles).toContain('dist-dev/bench-kit.cjs')
    const required = BENCH_SCRIPTS.flatMap((f) =>
      [...readFileSync(join(SCRIPTS, f), 'utf8').matchAll(/require\('\.\.\/(dist[^']*)'\)/g)].map((m) => ({ script: f, target: m[1] as string })),
    )
    expect(required.length).toBeGreaterThan(1)
    expect(required.filter((r) => !outfiles.has(r.target))).toEqual([])
  })
})
