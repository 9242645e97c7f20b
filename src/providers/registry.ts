import { UsageError } from '../kernel/errors.js'
import { haut } from './haut/index.js'
import { instabase } from './instabase/index.js'
import { lucid } from './lucid/index.js'
import { lucidworks } from './lucidworks/index.js'
import { lupasearch } from './lupasearch/index.js'
import { oauth2 } from './oauth2/index.js'
import type { Provider } from './types.js'

/** Every provider, keyed by canonical id. Adding a platform: one folder and one line here. */
export const PROVIDERS = {
  lucidworks,
  lupasearch,
  instabase,
  lucid,
  haut,
  oauth2,
} as const satisfies Record<string, Provider>

export type ProviderId = keyof typeof PROVIDERS

export function allProviders(): Provider[] {
  return Object.values(PROVIDERS)
}

/** The provider with this id or alias (case-insensitive), or undefined. */
export function findProvider(name: string): Provider | undefined {
  const n = name.toLowerCase()
  return allProviders().find((p) => p.id === n || p.aliases.includes(n))
}

/** Resolves an id or alias (case-insensitive); unknown → exit 2 listing the valid names. */
export function getProvider(name: string): Provider {
  const found = findProvider(name)
  if (found) return found
  const names = allProviders().flatMap((p) => [p.id, ...p.aliases])
  throw new UsageError(`unknown provider ${JSON.stringify(name.slice(0, 64))}`, { hint: `use one of: ${names.join(', ')}` })
}
