import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ProviderHttpError } from '../../../src/kernel/errors.js'
import { startKeepFresh, type FreshSource, type KeepFreshDeps } from '../../../src/exec/keep-fresh.js'
import { lucidworks } from '../../../src/providers/lucidworks/index.js'
import type { Credential, TokenSet } from '../../../src/providers/types.js'
import { tempDir } from '../../helpers/tmp.js'

const cred: Credential = {
  kind: 'client-credentials',
  source: 'environment',
  secret: { clientSecret: 's' },
  data: { clientId: 'c', scopes: ['machinelearning.predict'] },
}
const tok = (n: number, obtainedAt = n): TokenSet => ({ accessToken: `tok-${n}`, obtainedAt, expiresAt: obtainedAt + 3600_000 })

function setup(next: () => Promise<TokenSet>) {
  const warnings: string[] = []
  const deps: KeepFreshDeps = {
    env: { TMPDIR: tempDir('kf-unit-') },
    tokens: () => ({ getToken: () => next() }),
    cache: () => ({ dir: tempDir('kf-cache-'), read: () => undefined }),
    warn: (l) => warnings.push(l),
    debug: () => {},
  }
  const source: FreshSource = {
    provider: lucidworks,
    ref: { provider: 'lucidworks', profile: 'default' },
    cred,
    scopes: [],
    tokens: [{ scope: 'machinelearning.predict', token: tok(1) }],
  }
  const keeper = startKeepFresh(deps, [source], { minTtlMs: 300_000, minTtlName: '--min-ttl' })
  const read = (name: string) => readFileSync(join(keeper.dir, name), 'utf8')
  return { keeper, warnings, read }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('KeepFresh', () => {
  it('writes 0600 files in a 0700 dir and the *_FILE variables; stop() removes the dir', () => {
    vi.useFakeTimers()
    const { keeper, read } = setup(async () => tok(1))
    expect(statSync(keeper.dir).mode & 0o777).toBe(0o700)
    expect(read('LUCIDWORKS_ACCESS_TOKEN')).toBe('tok-1')
    expect(read('LUCIDWORKS_HEADERS')).toBe('Authorization: Bearer tok-1\n')
    expect(statSync(join(keeper.dir, 'LUCIDWORKS_HEADERS')).mode & 0o777).toBe(0o600)
    expect(keeper.vars).toMatchObject({
      LUCIDWORKS_ACCESS_TOKEN: 'tok-1',
      LUCIDWORKS_ACCESS_TOKEN_FILE: join(keeper.dir, 'LUCIDWORKS_ACCESS_TOKEN'),
      LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT_FILE: join(keeper.dir, 'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT'),
      LUCIDWORKS_HEADERS_FILE: join(keeper.dir, 'LUCIDWORKS_HEADERS'),
    })
    keeper.stop()
    expect(existsSync(keeper.dir)).toBe(false)
    keeper.stop() // idempotent
  })

  it('rewrites on a new token, tells the masker, and never goes back to an older one', async () => {
    vi.useFakeTimers()
    const answers = [tok(2), tok(1)]
    const { keeper, read } = setup(async () => answers.shift() ?? tok(2))
    const secrets: string[] = []
    keeper.onSecret((s) => secrets.push(s))
    await vi.advanceTimersByTimeAsync(1000)
    expect(read('LUCIDWORKS_ACCESS_TOKEN')).toBe('tok-2')
    expect(secrets).toEqual(['tok-2'])
    await vi.advanceTimersByTimeAsync(1000) // an older token (a slow read racing a renewal) is ignored
    expect(read('LUCIDWORKS_HEADERS')).toBe('Authorization: Bearer tok-2\n')
    keeper.stop()
  })

  it('a failing renewal warns once, backs off, keeps the current files, and says when it recovers', async () => {
    vi.useFakeTimers()
    let calls = 0
    const { keeper, warnings, read } = setup(async () => {
      calls++
      if (calls <= 3) throw new ProviderHttpError('Lucidworks AI: HTTP 503 after 4 attempts')
      return tok(5)
    })
    await vi.advanceTimersByTimeAsync(1000) // fail 1, next try in 2 s
    await vi.advanceTimersByTimeAsync(2000) // fail 2, next in 4 s
    expect(calls).toBe(2)
    await vi.advanceTimersByTimeAsync(4000) // fail 3, next in 8 s
    expect(read('LUCIDWORKS_ACCESS_TOKEN')).toBe('tok-1')
    await vi.advanceTimersByTimeAsync(8000)
    expect(calls).toBe(4)
    expect(read('LUCIDWORKS_ACCESS_TOKEN')).toBe('tok-5')
    expect(warnings).toEqual([
      'Lucidworks AI: keep-fresh could not renew the token: Lucidworks AI: HTTP 503 after 4 attempts; retrying (the child keeps the current one)',
      'Lucidworks AI: keep-fresh has a fresh token again',
    ])
    keeper.stop()
  })

  it('refuses a token that would inject a header line', async () => {
    vi.useFakeTimers()
    const { keeper, warnings, read } = setup(async () => ({ accessToken: 'x\r\nX-Evil: 1', obtainedAt: 9, expiresAt: 9e12 }))
    await vi.advanceTimersByTimeAsync(1000)
    expect(read('LUCIDWORKS_HEADERS')).toBe('Authorization: Bearer tok-1\n')
    expect(warnings[0]).toMatch(/malformed token/)
    keeper.stop()
  })
})
