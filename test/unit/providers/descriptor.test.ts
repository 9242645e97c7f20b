import { describe, expect, it } from 'vitest'
import { AuthRequiredError, ExitCode, InvalidGrantError, NotFoundError, ProviderHttpError, UsageError } from '../../../src/kernel/errors.js'
import { envHint, flagKey, flagName, parseStored, unionHelp } from '../../../src/providers/descriptor.js'
import { failure, readOAuthError } from '../../../src/providers/kit/failure.js'
import { lucid } from '../../../src/providers/lucid/index.js'
import { lucidworks } from '../../../src/providers/lucidworks/index.js'
import { lupasearch } from '../../../src/providers/lupasearch/index.js'
import { allProviders } from '../../../src/providers/registry.js'

describe('descriptor: what the CLI derives from it', () => {
  it('env hints come from the credential variable sets', () => {
    expect(envHint(lucidworks)).toBe('LUCIDWORKS_CLIENT_ID and LUCIDWORKS_CLIENT_SECRET')
    expect(envHint(lupasearch)).toBe('LUPA_EMAIL and LUPA_PASSWORD (or LUPA_API_KEY)')
  })

  it('flag names and option keys follow commander', () => {
    expect(flagName({ flags: '--client-id <id>', help: '' })).toBe('client-id')
    expect(flagKey({ flags: '--client-secret-stdin', help: '' })).toBe('clientSecretStdin')
    expect(flagKey({ flags: '--no-verify', help: '' })).toBe('verify')
  })

  it("a shared flag's help never speaks for another provider", () => {
    const spec = lucidworks.loginFlags.find((f) => f.flags.startsWith('--scope'))!
    const help = unionHelp(spec, [lucidworks, lucid], (p) => p.loginFlags, 'ids')
    expect(help).toContain('lucidworks: scope to request, repeatable (default machinelearning.predict)')
    expect(help).toContain('lucid: scope to request, repeatable')
  })

  it('every provider declares its login-secret variables among its environment', () => {
    for (const p of allProviders()) {
      for (const v of p.env.secrets) expect(v.startsWith(`${p.env.prefix}_`)).toBe(true)
      expect(p.endpoints.length).toBeGreaterThan(0)
      expect(Object.keys(p.stored).length).toBeGreaterThan(0)
    }
  })
})

describe('stored logins are parsed against the schema', () => {
  const ok = { kind: 'client-credentials', source: 'file' as const, secret: { clientSecret: 's' }, data: { clientId: 'c', scopes: ['a'] } }
  it('a login that matches is returned as a credential', () => {
    expect(parseStored(lucidworks, 'default', ok).data.clientId).toBe('c')
  })
  it.each([
    ['an unknown kind', { ...ok, kind: 'password' }, /unknown kind/],
    ['a missing secret field', { ...ok, secret: {} }, /no clientSecret/],
    ['a non-string secret', { ...ok, secret: { clientSecret: 5 } }, /not a string/],
    ['mistyped data', { ...ok, data: { clientId: 'c', scopes: 'a' } }, /scopes is not string\[\]/],
    ['missing required data', { ...ok, data: { scopes: [] } }, /clientId is not string/],
  ])('%s is exit 4 with "log in again"', (_what, record, message) => {
    let err: unknown
    try {
      parseStored(lucidworks, 'staging', record as typeof ok)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AuthRequiredError)
    expect((err as AuthRequiredError).exitCode).toBe(ExitCode.Auth)
    expect((err as Error).message).toMatch(message)
    expect((err as AuthRequiredError).hint).toContain('authctl login lucidworks --profile staging')
  })
})

describe('one HTTP → exit code mapping', () => {
  const res = (status: number, body: unknown = {}) => ({ status, headers: {}, body: JSON.stringify(body) })
  const map = (status: number, body?: unknown, extra = {}) => failure(res(status, body), readOAuthError, { what: 'x', authHint: 'h', ...extra })
  it.each([
    [401, {}, AuthRequiredError],
    [403, {}, AuthRequiredError],
    [400, { error: 'invalid_client' }, AuthRequiredError],
    [400, { error: 'invalid_scope' }, UsageError],
    [400, {}, UsageError],
    [404, {}, NotFoundError],
    [429, {}, ProviderHttpError],
    [500, {}, ProviderHttpError],
    [503, {}, ProviderHttpError],
  ])('HTTP %i %j → %o', (status, body, type) => {
    expect(map(status, body)).toBeInstanceOf(type)
  })
  it('a refused refresh grant is InvalidGrantError (the token service recovers from it); elsewhere invalid_grant is exit 4', () => {
    expect(map(400, { error: 'invalid_grant' }, { refreshGrant: true })).toBeInstanceOf(InvalidGrantError)
    const plain = map(400, { error: 'invalid_grant' })
    expect(plain).toBeInstanceOf(AuthRequiredError)
    expect(plain).not.toBeInstanceOf(InvalidGrantError)
  })
})
