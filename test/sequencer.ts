import { basename } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The order the long e2e files start in, on the project's 2-core machine. Vitest orders files by
 * the durations of the previous run, which a fresh clone (CI) does not have; it then starts the
 * larger files first, and the 46 s keep-fresh soak (a small file that mostly waits for token
 * expiries) started last and ran alone at the end (218 s against 184 s with a warm cache).
 *
 * Longest first, with one correction: files that mostly wait (the keep-fresh soak, redis-attacks'
 * stalled locks, trust's one-at-a-time CLI runs) go beside files that keep both cores busy
 * (canary and faults run six providers side by side). Started together, the soak, trust and
 * redis-attacks left about 30% of the machine idle for the first 40 s (`vmstat 1`: 35
 * core-seconds idle in all; 11 with this order). Files not listed follow in Vitest's order.
 */
const START_ORDER = [
  'keep-fresh-soak',
  'canary',
  'faults',
  'trust',
  'oauth2',
  'redis-attacks',
  'docs',
  'keys-rotate',
  'redis',
  'lucidworks',
  'library',
  'crash-soak',
  'keep-fresh',
  'ci',
  'install',
]

const rank = (spec: TestSpecification): number => {
  const i = START_ORDER.indexOf(basename(spec.moduleId, '.test.ts'))
  return i < 0 ? START_ORDER.length : i
}

export class StartOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files)
    return base
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map(({ spec }) => spec)
  }
}
