import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import type { Emulator } from '../emulators/_server.js'
import { baseEnv } from './cli.js'
import { tempDir } from './tmp.js'

/**
 * The shared setup of the e2e files: one emulator for the whole test file, started before its
 * first test and closed after its last. The returned object stands for the emulator (properties,
 * methods, assignments such as `lw.tokenTtlSeconds = 6`) once it runs, so use it in tests and
 * hooks only: `const lw = fileEmulator(() => startLucidworks())`.
 */
export function fileEmulator<E extends Emulator>(start: () => Promise<E>): E {
  let emu: E | undefined
  beforeAll(async () => {
    emu = await start()
  })
  afterAll(async () => {
    await emu?.close()
  })
  const started = (): E => {
    if (!emu) throw new Error('the emulator starts in beforeAll: use it in tests and hooks')
    return emu
  }
  return new Proxy({} as E, {
    get(_, key) {
      const target = started()
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
    set(_, key, value) {
      return Reflect.set(started(), key, value)
    },
  })
}

export interface CliEnvOptions {
  /** Prefix of the temp dir. */
  prefix: string
  /** The encrypted file store's passphrase. */
  passphrase: string
  /** The config dir is `authctl` inside the temp dir, not yet created (runCli makes it when it seeds the file store). */
  nested?: boolean
}

/**
 * A fresh CLI environment for one test: baseEnv (no developer variables, the test knobs), a
 * config dir of its own (removed after the file), the encrypted file store, and `vars` (the
 * emulators' endpoints, credentials, …).
 */
export function cliEnv(opts: CliEnvOptions, vars: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = tempDir(opts.prefix)
  return baseEnv({
    AUTHCTL_CONFIG_DIR: opts.nested ? join(dir, 'authctl') : dir,
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: opts.passphrase,
    ...vars,
  })
}
