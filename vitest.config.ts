import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/helpers/setup.ts'] } },
      // e2e spawns the built CLI (npm test builds first) against loopback emulators.
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], setupFiles: ['test/helpers/setup.ts'], testTimeout: 60_000, hookTimeout: 60_000 } },
    ],
  },
})
