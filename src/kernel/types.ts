import type { StoreBackend } from './config.js'

/** A token as handed to users. Times are epoch milliseconds. */
export interface TokenSet {
  accessToken: string
  /** `Bearer` unless the provider says otherwise. */
  tokenType?: string
  /** Absolute expiry (epoch ms), computed at receipt. Undefined = does not expire. */
  expiresAt?: number
  /** When it was obtained (epoch ms); lets `--force-refresh` waiters adopt a newer token. */
  obtainedAt?: number
  /** Shared-cache generation of this token (strictly increasing per slot); 0/absent = none. */
  generation?: number
  scopes?: readonly string[]
  /** Non-secret facts learned when the token was issued (e.g. Haut.ai company_id). */
  info?: Readonly<Record<string, string>>
}

/** Where a credential was found. Environment credentials never touch the secret store. */
export type CredentialSource = 'environment' | StoreBackend

/** One provider/profile's credentials, resolved from the environment or the secret store. */
export interface Credential {
  /** e.g. `client-credentials`, `password`, `api-key`, `token`, `oauth`. */
  kind: string
  source: CredentialSource
  /** Secret fields (client secret, password, refresh token, key). Never logged or printed. */
  secret: Readonly<Record<string, string>>
  /** Non-secret fields (client id, scopes, org, context). Safe to print and to store in config. */
  data: Readonly<Record<string, unknown>>
}

/** Interactive questions; every method throws NonInteractiveError when prompting is not allowed. */
export interface Prompter {
  input(message: string, opts?: { default?: string }): Promise<string>
  password(message: string): Promise<string>
  confirm(message: string, opts?: { default?: boolean }): Promise<boolean>
  select<T extends string>(message: string, choices: ReadonlyArray<{ name: string; value: T }>): Promise<T>
}
