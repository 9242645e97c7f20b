import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cacheKeyMaterial } from '../../../src/tokens/credentials.js'
import { isFresh, TokenCache } from '../../../src/tokens/token-cache.js'
import { tempDir } from '../../helpers/tmp.js'

const ref = { provider: 'lucidworks', profile: 'default' }

describe('TokenCache', () => {
  it('stores tokens encrypted (0600, no clear text) and reads them back with the same key', () => {
    const dir = tempDir('cache-')
    const cache = new TokenCache(dir)
    const key = randomBytes(32)
    cache.write(ref, 'machinelearning.predict', key, { accessToken: 'eyJ.secret-token-value.sig', expiresAt: 123, scopes: ['machinelearning.predict'] })
    const files = readdirSync(join(dir, 'cache', 'lucidworks', 'default'))
    expect(files).toHaveLength(1)
    const file = join(dir, 'cache', 'lucidworks', 'default', files[0] as string)
    expect(readFileSync(file, 'utf8')).not.toContain('secret-token-value')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(cache.read(ref, 'machinelearning.predict', key)?.accessToken).toBe('eyJ.secret-token-value.sig')
    expect(cache.list(ref)).toEqual([{ slot: 'machinelearning.predict', scopes: ['machinelearning.predict'], expiresAt: 123, obtainedAt: expect.any(Number) }])
  })

  it('a different key (changed secret), another slot or another profile misses', () => {
    const cache = new TokenCache(tempDir('cache-'))
    const key = randomBytes(32)
    cache.write(ref, 's1', key, { accessToken: 't' })
    expect(cache.read(ref, 's1', randomBytes(32))).toBeUndefined()
    expect(cache.read(ref, 's2', key)).toBeUndefined()
    expect(cache.read({ ...ref, profile: 'other' }, 's1', key)).toBeUndefined()
  })

  it('clear removes the profile entries and says whether there were any', () => {
    const cache = new TokenCache(tempDir('cache-'))
    cache.write(ref, 's1', randomBytes(32), { accessToken: 't' })
    expect(cache.clear(ref)).toBe(true)
    expect(cache.clear(ref)).toBe(false)
  })
})

describe('isFresh', () => {
  it.each([
    [{ accessToken: 'a' }, true],
    [{ accessToken: 'a', expiresAt: 1000 + 301_000 }, true],
    [{ accessToken: 'a', expiresAt: 1000 + 300_000 }, false],
    [{ accessToken: 'a', expiresAt: 0 }, false],
  ])('%j → %s (min TTL 300 s at t=1000)', (tok, fresh) => {
    expect(isFresh(tok, 300_000, 1000)).toBe(fresh)
  })
})

describe('cacheKeyMaterial', () => {
  const env = (secret: string) => ({ kind: 'client-credentials', source: 'environment' as const, secret: { clientSecret: secret }, data: { clientId: 'c' } })
  it('derives from the secret for env credentials: same secret same key, changed secret other key', () => {
    expect(cacheKeyMaterial(env('s1')).equals(cacheKeyMaterial(env('s1')))).toBe(true)
    expect(cacheKeyMaterial(env('s1')).equals(cacheKeyMaterial(env('s2')))).toBe(false)
  })
  it('uses the random cache key of a stored login', () => {
    const k = randomBytes(32)
    const stored = { kind: 'client-credentials', source: 'file' as const, secret: { clientSecret: 's', cacheKey: k.toString('base64') }, data: {} }
    expect(cacheKeyMaterial(stored).equals(k)).toBe(true)
  })
})
