import { describe, expect, it } from 'vitest'
import {
  AuthRequiredError,
  CancelledError,
  errorToExitCode,
  NonInteractiveError,
  NotFoundError,
  ProviderHttpError,
  SecretStoreError,
  UnsupportedOperationError,
  UsageError,
} from '../../../src/kernel/errors.js'

describe('errorToExitCode', () => {
  it.each([
    [new UsageError('x'), 2],
    [new NonInteractiveError('x'), 2],
    [new NotFoundError('x'), 3],
    [new AuthRequiredError('x'), 4],
    [new ProviderHttpError('x', { status: 503 }), 5],
    [new SecretStoreError('x'), 6],
    [new UnsupportedOperationError('x'), 7],
    [new CancelledError('x'), 130],
    [new Error('bug'), 1],
    ['a string', 1],
  ])('%s → %i', (err, code) => {
    expect(errorToExitCode(err)).toBe(code)
  })

  it('keeps the raw body out of enumerable fields and sets name and code', () => {
    const e = new ProviderHttpError('failed', { status: 500, body: 'secret-ish body', providerError: 'server_error' })
    expect(JSON.stringify(e)).not.toContain('secret-ish')
    expect(e.body).toBe('secret-ish body')
    expect(e.name).toBe('ProviderHttpError')
    expect(e.code).toBe('AUTHCTL_PROVIDER')
    expect(new NonInteractiveError('x').code).toBe('AUTHCTL_NON_INTERACTIVE')
  })
})
