import { defineConfig } from 'vitest/config'
import { StartOrder } from './test/sequencer.js'

export default defineConfig({
  test: {
    // Vitest's default is one worker per core minus one: a single worker on the project's 2-core
    // machine, so every file waited for the one before it. Most e2e time is spent waiting for
    // spawned CLIs, emulators and token expiries, so more files than cores run side by side.
    pool: 'forks',
    maxWorkers: 3,
    // A worker runs its files one after another in one module registry: vitest, the helpers and
    // the emulators load once per worker instead of once per file. No test file changes
    // process-wide state (env, cwd, globals, mocks).
    isolate: false,
    // Long files start first, waiting ones beside busy ones, also in a fresh clone (test/sequencer.ts).
    sequence: { sequencer: StartOrder },
    // Inline projects get the options above only with `extends: true` (Vitest 4). Without it each
    // of the 50 files ran in a worker of its own: 50 workers, 58 s of CPU; now 3 workers, 27 s.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/helpers/setup.ts'] } },
      // e2e spawns the built CLI (npm test builds first) against loopback emulators. The timeouts
      // allow for three files sharing two cores with other work on the machine.
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], setupFiles: ['test/helpers/setup.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
      },
    ],
  },
})
