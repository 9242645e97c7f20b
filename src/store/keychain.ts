import { randomBytes } from 'node:crypto'
import { SecretStoreError } from '../kernel/errors.js'
import type { SecretStore } from './types.js'
import { SERVICE } from './types.js'

/** gh internal/keyring: every keychain call is bounded, a hung D-Bus must not hang the CLI. */
export const KEYCHAIN_TIMEOUT_MS = 3000

/** A probe item name of this process alone: concurrent logins must not delete each other's probe. */
export function probeAccount(): string {
  return `__authctl_probe__.${process.pid}.${randomBytes(4).toString('hex')}`
}

export function keychainHint(platform: NodeJS.Platform): string {
  return platform === 'linux'
    ? 'start a Secret Service (e.g. `dbus-run-session -- sh` with gnome-keyring-daemon --unlock), or use AUTHCTL_STORE=file with AUTHCTL_PASSPHRASE'
    : 'unlock the OS keychain, or use AUTHCTL_STORE=file with AUTHCTL_PASSPHRASE'
}

/**
 * The two ways out when no keychain answers, as one line: what `doctor` prints as the fix and
 * what a first `login` says (a headless Linux box has no Secret Service until one is started).
 */
export function keychainFix(platform: NodeJS.Platform): string {
  if (platform !== 'linux') return keychainHint(platform)
  return 'either start a Secret Service (apt-get install gnome-keyring dbus, then run under `dbus-run-session -- sh` with `printf %s "$PW" | gnome-keyring-daemon --unlock --components=secrets`), or use AUTHCTL_STORE=file with AUTHCTL_PASSPHRASE'
}

type Keyring = typeof import('@napi-rs/keyring')

/**
 * The OS keychain through @napi-rs/keyring. On Linux the entry is pinned to the Secret Service:
 * the binding's default can fall back to the kernel keyring, which is lost on reboot.
 */
export function createKeychainStore(opts: { platform: NodeJS.Platform; timeoutMs?: number }): SecretStore {
  const timeoutMs = opts.timeoutMs ?? KEYCHAIN_TIMEOUT_MS
  const hint = keychainHint(opts.platform)
  let lib: Keyring | undefined

  async function call<T>(what: string, fn: (entry: import('@napi-rs/keyring').AsyncEntry, signal: AbortSignal) => Promise<T>, account: string): Promise<T> {
    try {
      lib ??= await import('@napi-rs/keyring')
    } catch (err) {
      throw new SecretStoreError('the OS keychain binding could not be loaded', { hint, cause: err })
    }
    const keyring = lib
    const ac = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort()
        reject(new SecretStoreError(`the OS keychain did not answer within ${timeoutMs / 1000} s (${what}); it may be locked`, { hint }))
      }, timeoutMs)
    })
    try {
      // The constructor already talks to D-Bus on Linux and can throw: keep it inside the try.
      const entry = new keyring.AsyncEntry(SERVICE, account, { linux: { store: 'secret-service' } })
      return await Promise.race([fn(entry, ac.signal), timeout])
    } catch (err) {
      if (err instanceof SecretStoreError) throw err
      const msg = String((err as Error)?.message ?? err)
        .split('\n')[0]
        ?.slice(0, 160)
      throw new SecretStoreError(`the OS keychain is unavailable (${what}): ${msg}`, { hint, cause: err })
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    backend: 'keychain',
    async get(account) {
      return (await call('read', (e, s) => e.getPassword(s), account)) ?? undefined
    },
    async set(account, value) {
      await call('write', (e, s) => e.setPassword(value, s), account)
    },
    async delete(account) {
      return call('delete', (e, s) => e.deleteCredential(s), account)
    },
    async check() {
      // A write, not a read: a locked collection may answer reads but must be unlocked to store.
      const account = probeAccount()
      await call('check', (e, s) => e.setPassword('probe', s), account)
      await call('check', (e, s) => e.deleteCredential(s), account)
    },
  }
}
