import { basename } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The e2e files that take longest, longest first, by their wall time in a full run on the
 * project's 2-core machine. Vitest orders files by the durations of the previous run, which a
 * fresh clone (CI) does not have; it then starts the larger files first, and the 46 s
 * keep-fresh soak (a small file that mostly waits for token expiries) started last and ran alone
 * at the end (218 s against 184 s with a warm cache). Files not listed follow in Vitest's order.
 */
const LONGEST_FIRST = [
  'keep-fresh-soak',
  'trust',
  'redis-attacks',
  'keys-rotate',
  'faults',
  'redis',
  'oauth2',
  'docs',
  'lucidworks',
  'library',
  'crash-soak',
  'canary',
  'keep-fresh',
  'ci',
  'install',
]

const rank = (spec: TestSpecification): number => {
  const i = LONGEST_FIRST.indexOf(basename(spec.moduleId, '.test.ts'))
  return i < 0 ? LONGEST_FIRST.length : i
}

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files)
    return base
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map(({ spec }) => spec)
  }
}
