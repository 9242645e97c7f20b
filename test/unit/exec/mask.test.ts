import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { buildChildEnv } from '../../../src/exec/env.js'
import { SecretMasker, secretValues } from '../../../src/exec/mask.js'

async function through(secrets: string[], chunks: Array<string | Buffer>): Promise<string> {
  const m = new SecretMasker(secrets)
  const out: Buffer[] = []
  const sink = new PassThrough()
  sink.on('data', (d: Buffer) => out.push(d))
  m.pipe(sink)
  for (const c of chunks) m.write(typeof c === 'string' ? Buffer.from(c) : c)
  m.end()
  await new Promise((r) => sink.on('end', r))
  return Buffer.concat(out).toString('utf8')
}

describe('SecretMasker', () => {
  const secret = 'eyJhbGciOi.secret-token.sig'
  const text = `before ${secret} middle ${secret}${secret} after`
  const expected = 'before *** middle ****** after'

  it('masks whole occurrences', async () => {
    expect(await through([secret], [text])).toBe(expected)
  })

  it('masks a secret split at every possible write boundary', async () => {
    for (let cut = 1; cut < text.length; cut++) {
      expect(await through([secret], [text.slice(0, cut), text.slice(cut)])).toBe(expected)
    }
  })

  it('masks a secret written one byte at a time', async () => {
    expect(
      await through(
        [secret],
        [...text].map((c) => c),
      ),
    ).toBe(expected)
  })

  it('holds back nothing that cannot be a secret, and flushes a dangling prefix at the end', async () => {
    const m = new SecretMasker([secret])
    expect(m.mask('plain text', false)).toEqual(['plain text', ''])
    expect(m.mask('tail eyJhbG', false)).toEqual(['tail ', 'eyJhbG'])
    expect(await through([secret], ['ends with eyJhbG'])).toBe('ends with eyJhbG')
  })

  it('passes binary and UTF-8 through untouched, and masks the longer of overlapping secrets', async () => {
    const bin = Buffer.from([0, 255, 0xc3, 0xa9, 10])
    expect(Buffer.from(await through([secret], [bin]), 'utf8').length).toBeGreaterThan(0)
    expect(await through(['abcd', 'abcdefgh'], ['xabcdefghx abcdx'])).toBe('x***x ***x')
    expect(await through([secret], ['héllo ', secret])).toBe('héllo ***')
  })

  it('secretValues picks tokens and keys, not ids, contexts or *_FILE paths', () => {
    expect(
      secretValues({
        LUCIDWORKS_ACCESS_TOKEN: 't1',
        LUPA_API_KEY: 'k1',
        LUCIDWORKS_APPLICATION_ID: 'app',
        INSTABASE_CONTEXT: 'ctx',
        LUCID_API_VERSION: '1',
        LUCIDWORKS_ACCESS_TOKEN_FILE: '/run/x',
      }),
    ).toEqual(['t1', 'k1'])
  })

  it('add() masks secrets learned later (exec --keep-fresh renewals), also split across writes', () => {
    const m = new SecretMasker(['first-token'])
    expect(m.mask('a first-token b', true)[0]).toBe('a *** b')
    m.add('renewed-token-2')
    const [out, carry] = m.mask('x renewed-tok', false)
    expect(out + m.mask(`${carry}en-2 y first-token`, true)[0]).toBe('x *** y ***')
  })
})

describe('buildChildEnv', () => {
  it.each([
    [
      { PATH: '/bin', LUCIDWORKS_CLIENT_SECRET: 's', LUPA_PASSWORD: 'p' },
      { LUCIDWORKS_ACCESS_TOKEN: 't' },
      { PATH: '/bin', LUCIDWORKS_ACCESS_TOKEN: 't', AUTHCTL_PROFILE: 'ci' },
    ],
    [{ LUCIDWORKS_ACCESS_TOKEN: 'old' }, { LUCIDWORKS_ACCESS_TOKEN: 'new' }, { LUCIDWORKS_ACCESS_TOKEN: 'new', AUTHCTL_PROFILE: 'ci' }],
    [{ X: undefined, AUTHCTL_PROFILE: 'other' }, {}, { AUTHCTL_PROFILE: 'ci' }],
  ])('%j + %j', (base, inject, expected) => {
    expect(buildChildEnv(base, inject, { unset: ['LUCIDWORKS_CLIENT_SECRET', 'LUPA_PASSWORD'], profile: 'ci' })).toEqual(expected)
  })
})
