/**
 * Where login secrets live. One item per provider/profile; the value is a JSON object of the
 * secret fields. There is no list(): keychains cannot enumerate reliably, so the profile index
 * lives in core/config.ts.
 */
export interface SecretStore {
  readonly backend: 'keychain' | 'file' | 'memory'
  /** Resolves undefined when absent; throws SecretStoreError only for real backend failures or timeouts. */
  get(account: string): Promise<string | undefined>
  set(account: string, value: string): Promise<void>
  /** True when something was deleted. */
  delete(account: string): Promise<boolean>
  /** Throws SecretStoreError (with the fix as hint) unless the store answers and is unlocked. */
  check(): Promise<void>
}

/** Keychain service name and the account of one profile's secrets. */
export const SERVICE = 'authctl'
export function accountFor(provider: string, profile: string): string {
  return `${provider}:${profile}`
}
