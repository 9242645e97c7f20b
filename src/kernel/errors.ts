/**
 * The one error hierarchy of authctl. Core code throws these; only `cli/main.ts` turns them
 * into stderr text and an exit code. A message never contains a secret (at most `maskSecret`).
 */

/** Exit codes are a documented API (README "Exit codes", CONTRACT.md). */
export const ExitCode = {
  Ok: 0,
  Internal: 1,
  Usage: 2,
  NotFound: 3,
  Auth: 4,
  Provider: 5,
  Store: 6,
  Unsupported: 7,
  Interrupted: 130,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface AuthctlErrorOptions {
  /** A runnable next step, printed on the second line of the error. */
  hint?: string
  cause?: unknown
}

/** Base class: `code` is a stable string constant, `exitCode` the process exit status. */
export class AuthctlError extends Error {
  readonly code: string = 'AUTHCTL_ERROR'
  readonly exitCode: ExitCodeValue = ExitCode.Internal
  readonly hint?: string

  constructor(message: string, opts: AuthctlErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = this.constructor.name
    if (opts.hint !== undefined) this.hint = opts.hint
  }
}

/** Bad flags, arguments, config or URLs; missing input when non-interactive. Exit 2. */
export class UsageError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_USAGE'
  override readonly exitCode: ExitCodeValue = ExitCode.Usage
}

/** A value was needed but stdin is not a TTY (or CI is set). Exit 2. */
export class NonInteractiveError extends UsageError {
  override readonly code: string = 'AUTHCTL_NON_INTERACTIVE'
}

/** No such key id, or nothing to log out of. Exit 3. */
export class NotFoundError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_NOT_FOUND'
  override readonly exitCode: ExitCodeValue = ExitCode.NotFound
}

/** Not logged in, credentials rejected, or renewal impossible. Exit 4. */
export class AuthRequiredError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_AUTH_REQUIRED'
  override readonly exitCode: ExitCodeValue = ExitCode.Auth
}

/**
 * A refresh token was refused as `invalid_grant`: it was rotated by someone else, revoked, or
 * expired. The token service re-reads the store before believing the login is dead. Exit 4.
 */
export class InvalidGrantError extends AuthRequiredError {
  override readonly code: string = 'AUTHCTL_INVALID_GRANT'
}

/**
 * A provider answered with an error, or could not be reached, after retries. Exit 5.
 * `status` is undefined for network failures. The raw body is kept non-enumerable so that it
 * never ends up in a JSON dump of the error.
 */
export class ProviderHttpError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_PROVIDER'
  override readonly exitCode: ExitCodeValue = ExitCode.Provider
  readonly status?: number
  /** Parsed provider error code, e.g. OAuth `error` (`invalid_client`). */
  readonly providerError?: string
  declare readonly body?: string

  constructor(message: string, opts: AuthctlErrorOptions & { status?: number; providerError?: string; body?: string } = {}) {
    super(message, opts)
    if (opts.status !== undefined) this.status = opts.status
    if (opts.providerError !== undefined) this.providerError = opts.providerError
    Object.defineProperty(this, 'body', { value: opts.body, enumerable: false })
  }
}

/** The secret store is unavailable, locked or timed out. Exit 6. */
export class SecretStoreError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_STORE_UNAVAILABLE'
  override readonly exitCode: ExitCodeValue = ExitCode.Store
}

/** Gave up waiting for a renewal lock another live process holds. Exit 6 (never 1). */
export class LockTimeoutError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_LOCK_TIMEOUT'
  override readonly exitCode: ExitCodeValue = ExitCode.Store
}

/** The provider has no API for the operation (e.g. Lucidworks keys). Exit 7. */
export class UnsupportedOperationError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_UNSUPPORTED'
  override readonly exitCode: ExitCodeValue = ExitCode.Unsupported
}

/** The user cancelled (Ctrl-C at a prompt, declined a confirmation). Exit 130. */
export class CancelledError extends AuthctlError {
  override readonly code: string = 'AUTHCTL_CANCELLED'
  override readonly exitCode: ExitCodeValue = ExitCode.Interrupted
}

/** Maps any thrown value to its documented exit code; unknown errors are bugs (1). */
export function errorToExitCode(err: unknown): ExitCodeValue {
  return err instanceof AuthctlError ? err.exitCode : ExitCode.Internal
}
