import type { SecretStore } from './types.js'

/** In-process store for tests (keyring ArrayKeyring). */
export function createMemoryStore(initial: Record<string, string> = {}): SecretStore & { items: Map<string, string> } {
  const items = new Map(Object.entries(initial))
  return {
    backend: 'memory',
    items,
    async get(account) {
      return items.get(account)
    },
    async set(account, value) {
      items.set(account, value)
    },
    async delete(account) {
      return items.delete(account)
    },
    async check() {},
  }
}
