import type { StoreBackend } from '../kernel/config.js'
import { NonInteractiveError, SecretStoreError, UsageError } from '../kernel/errors.js'
import type { SecretStore } from '../store/types.js'
import type { Prompter } from './prompter.js'
import type { Env } from './settings.js'

export type StorePreference = 'auto' | StoreBackend

/** What the secret stores need from the run: where, how to ask, and what tests injected. */
export interface StoreNeeds {
  env: Env
  platform: NodeJS.Platform
  /** The config dir, checked (the file store lives there). */
  dir(): string
  interactive(): boolean
  prompter(): Prompter
  warn(line: string): void
  injected?: Partial<Record<StoreBackend, SecretStore>>
}

/**
 * The secret stores of one run: AUTHCTL_STORE, the store a new login goes to, and each backend
 * opened once (so the file store asks for its passphrase at most once per run).
 */
export class Stores {
  private readonly opened = new Map<StoreBackend, Promise<SecretStore>>()

  constructor(private readonly n: StoreNeeds) {}

  /** AUTHCTL_STORE, validated: where new logins are stored. */
  preference(): StorePreference {
    const v = (this.n.env.AUTHCTL_STORE || 'auto').toLowerCase()
    if (v === 'auto' || v === 'keychain' || v === 'file' || v === 'memory') return v
    throw new UsageError(`AUTHCTL_STORE=${JSON.stringify(v)} is not one of auto, keychain, file, memory`)
  }

  /**
   * The store new logins go to, checked (it answers and is unlocked) before anything the user
   * would have to type again. `auto` means the keychain if it answers, else exit 6 with the fix.
   */
  async forNewLogin(): Promise<SecretStore> {
    const pref = this.preference()
    const store = await this.open(pref === 'auto' ? 'keychain' : pref)
    if (pref !== 'auto') {
      await store.check()
      return store
    }
    try {
      await store.check()
    } catch (err) {
      // Two lines: what is wrong and the two ways out (doctor's fix); the D-Bus detail is --verbose.
      const { keychainFix } = await import('../store/keychain.js')
      const locked = /did not answer/.test((err as Error).message)
      const why = locked
        ? 'it did not answer in time; it may be locked'
        : this.n.platform === 'linux'
          ? "no Secret Service on this session's D-Bus"
          : 'it is unavailable'
      throw new SecretStoreError(`no OS keychain to keep the secret in (${why})`, { hint: keychainFix(this.n.platform), cause: err })
    }
    return store
  }

  open(backend: StoreBackend): Promise<SecretStore> {
    let s = this.opened.get(backend)
    if (!s) {
      s = this.create(backend)
      this.opened.set(backend, s)
    }
    return s
  }

  private async create(backend: StoreBackend): Promise<SecretStore> {
    const injected = this.n.injected?.[backend]
    if (injected) return injected
    if (backend === 'memory') return (await import('../store/memory.js')).createMemoryStore()
    if (backend === 'keychain') return (await import('../store/keychain.js')).createKeychainStore({ platform: this.n.platform })
    const { createFileStore } = await import('../store/file.js')
    return createFileStore({
      dir: this.n.dir(),
      passphrase: ({ creating }) => this.passphrase(creating),
      askAgain: (tries, max) => this.askAgain(tries, max),
    })
  }

  /** A prompted passphrase that was wrong is asked again; AUTHCTL_PASSPHRASE is not. */
  private askAgain(tries: number, max: number): boolean {
    if (this.n.env.AUTHCTL_PASSPHRASE || !this.n.interactive()) return false
    this.n.warn(`wrong passphrase, try again (${tries + 1} of ${max})`)
    return true
  }

  private async passphrase(creating: boolean): Promise<string> {
    const given = this.n.env.AUTHCTL_PASSPHRASE
    if (given) return given
    if (!this.n.interactive()) {
      throw new NonInteractiveError('the file store needs a passphrase', { hint: 'set AUTHCTL_PASSPHRASE (or run in a terminal to be asked)' })
    }
    const p = await this.n.prompter().password('Passphrase for the authctl secret file')
    if (creating) {
      const again = await this.n.prompter().password('Repeat the passphrase')
      if (again !== p) throw new UsageError('the passphrases do not match; nothing was stored')
    }
    if (!p) throw new UsageError('the passphrase is empty')
    return p
  }
}
