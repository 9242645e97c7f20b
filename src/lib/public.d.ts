/**
 * authctl as a library: the same credentials, secret store, token cache, renewal lock and shared
 * cache as the `authctl` CLI, so a Node program and a shell script on one machine share one
 * token per scope. Nothing here ever prompts; every failure is an `AuthctlError`.
 *
 * This file is the published type declaration (shipped as dist/lib.d.cts and dist/lib.d.mts);
 * src/lib/index.ts is type-checked against it.
 */

/** Options of `getToken` and `getHeaders`. */
export interface TokenOptions {
  /** Profile name; default `AUTHCTL_PROFILE`, else `default`. */
  profile?: string
  /** Scope of the token (Lucidworks); default the first scope given at login. */
  scope?: string
  /** Renew when fewer than this many seconds are left; default `AUTHCTL_MIN_TTL`, else 300. */
  minTtl?: number
  /** Renew even if the cached token is fresh (e.g. once after the API answered 401). */
  forceRefresh?: boolean
}

/** Options of `getEnv`. */
export interface EnvOptions {
  /** Profile name; default `AUTHCTL_PROFILE`, else `default`. */
  profile?: string
  /** Provider ids or aliases; default every provider with credentials in the profile or environment. */
  providers?: readonly string[]
  /** Lucidworks scopes (the first one becomes `LUCIDWORKS_ACCESS_TOKEN`); default the login's scopes. */
  scopes?: readonly string[]
  /** Every token has at least this many seconds left; default `AUTHCTL_MIN_TTL`, else 300. */
  minTtl?: number
}

/** A token as `authctl token --format json` prints it. */
export interface Token {
  accessToken: string
  /** `Bearer` unless the provider says otherwise. */
  tokenType: string
  /** Expiry in epoch milliseconds, or null for a token without expiry (API keys). */
  expiresAt: number | null
  scopes: string[]
}

/** Exit codes of the CLI; `AuthctlError.exitCode` is one of them. */
export declare const ExitCode: {
  readonly Ok: 0
  readonly Internal: 1
  readonly Usage: 2
  readonly NotFound: 3
  readonly Auth: 4
  readonly Provider: 5
  readonly Store: 6
  readonly Unsupported: 7
  readonly Interrupted: 130
}

/**
 * Every error of this library. `exitCode` is what the CLI would exit with (2 usage, 4 not logged
 * in or credentials rejected, 5 provider or network, 6 secret store locked or unavailable);
 * `code` a stable string such as `AUTHCTL_AUTH_REQUIRED`. Messages never contain a secret.
 */
export declare class AuthctlError extends Error {
  readonly code: string
  readonly exitCode: (typeof ExitCode)[keyof typeof ExitCode]
  /** The next step to take, e.g. the `authctl login …` command to run. */
  readonly hint?: string
  constructor(message: string, opts?: { hint?: string; cause?: unknown })
}

/** A fresh token for `provider` (id or alias): from the cache with no request, or renewed once across processes. */
export declare function getToken(provider: string, opts?: TokenOptions): Promise<Token>

/** The HTTP headers the provider needs (those of `authctl token --format header`), e.g. `{ Authorization: 'Bearer …' }`. */
export declare function getHeaders(provider: string, opts?: TokenOptions): Promise<Record<string, string>>

/** The variables `authctl exec` would set for its child (tokens, ids, `AUTHCTL_PROFILE`); never a login secret. */
export declare function getEnv(opts?: EnvOptions): Promise<Record<string, string>>
