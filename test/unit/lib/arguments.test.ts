import { describe, expect, it } from 'vitest'
import { AuthctlError, getEnv, getHeaders, getToken } from '../../../src/lib/index.js'

// What a JavaScript caller can pass that the published types forbid: every such call is a
// rejected promise (never a synchronous throw) with an AuthctlError, exit 2 AUTHCTL_USAGE,
// naming the argument, before any store or network is touched.
const bad: Array<[string, () => Promise<unknown>, RegExp]> = [
  ['null options (getToken)', () => getToken('lucidworks', null as never), /options must be an object/],
  ['null options (getHeaders)', () => getHeaders('lucidworks', null as never), /options must be an object/],
  ['null options (getEnv)', () => getEnv(null as never), /options must be an object/],
  ['a string for options', () => getToken('lucidworks', 'machinelearning.predict' as never), /options must be an object/],
  ['no provider', () => getToken(undefined as never), /provider must be a provider name/],
  ['a number for provider', () => getToken(123 as never), /provider must be a provider name/],
  ['a number for profile', () => getToken('lucidworks', { profile: 5 as never }), /profile must be a string/],
  ['a number for scope', () => getToken('lucidworks', { scope: 123 as never }), /scope must be a string/],
  ['a string for forceRefresh', () => getToken('lucidworks', { forceRefresh: 'no' as never }), /forceRefresh must be a boolean/],
  ['a string for providers', () => getEnv({ providers: 'lucidworks' as never }), /providers must be an array of strings/],
  ['an unknown option', () => getToken('lucidworks', { minttl: 5 } as never), /unknown option minttl \(one of profile, scope, minTtl, forceRefresh\)/],
  ['a minTtl over the CLI limit', () => getToken('lucidworks', { minTtl: 1e9 }), /^minTtl must be a whole number of seconds/],
]

describe('library arguments', () => {
  it.each(bad)('%s: a rejected promise with exit 2', async (_name, call, message) => {
    let promise: Promise<unknown> | undefined
    expect(() => {
      promise = call()
    }).not.toThrow()
    const err = await (promise as Promise<unknown>).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(AuthctlError)
    expect(err).toMatchObject({ exitCode: 2, code: 'AUTHCTL_USAGE' })
    expect((err as Error).message).toMatch(message)
    expect((err as Error).message).not.toMatch(/--min-ttl|unexpected error/)
  })
})
