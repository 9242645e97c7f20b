import { trimLineEnd } from '../providers/inputs.js'

/**
 * What an `exec` child must never inherit (CONTRACT 0.2 "The child gets tokens, never keys to
 * the vault"): the file store's passphrase, the shared cache's URL (often with a password) and
 * fleet key, and every provider's login-secret variable. Tokens are injected separately.
 */
export const VAULT_VARIABLES = ['AUTHCTL_PASSPHRASE', 'AUTHCTL_CACHE', 'AUTHCTL_CACHE_KEY'] as const

/** The variables to remove: the vault keys plus the given login-secret variables. */
export function scrubbedNames(loginSecretEnv: readonly string[]): string[] {
  return [...new Set([...VAULT_VARIABLES, ...loginSecretEnv])]
}

/**
 * Values of the removed variables that are set, for `--mask`: a child could still print them
 * (read from a file, or from a parent shell's history). A URL's password is added on its own.
 */
export function scrubbedValues(env: Readonly<Record<string, string | undefined>>, names: readonly string[]): string[] {
  const out: string[] = []
  for (const name of names) {
    const v = env[name]
    if (!v) continue
    out.push(v)
    // As authctl reads a credential variable: without the line breaks at its end.
    const trimmed = trimLineEnd(v)
    if (trimmed && trimmed !== v) out.push(trimmed)
    const password = urlPassword(v)
    if (password) out.push(password)
  }
  return out
}

function urlPassword(v: string): string | undefined {
  try {
    const u = new URL(v)
    return u.password ? decodeURIComponent(u.password) : undefined
  } catch {
    return undefined
  }
}
