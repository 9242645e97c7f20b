import { describe, expect, it } from 'vitest'
import { formatTable } from '../../../src/cli/output.js'

describe('tables on a terminal', () => {
  const header = ['ID', 'NAME', 'KEY', 'EXPIRES']
  const rows = [['key-0123456789abcdef', `night 🌙 job ${'x'.repeat(40)}`, '****************wxyz', '2027-01-01 (in 30 days)']]

  it('cut the widest columns not kept, by characters: an emoji is never split, kept columns stay whole', () => {
    const piped = formatTable(header, rows)
    expect(piped).toContain(rows[0]?.[1])
    const fit = formatTable(header, rows, { width: 80, keep: [0, 2] })
    for (const l of fit.trimEnd().split('\n')) expect(Array.from(l).length, l).toBeLessThanOrEqual(80)
    expect(fit).toContain('key-0123456789abcdef')
    expect(fit).toContain('****************wxyz')
    expect(fit).toMatch(/night 🌙 job x+…/)
    expect(fit).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/) // no lone high surrogate
    const tight = formatTable(header, rows, { width: 20, keep: [0, 2] })
    expect(tight).toContain('****************wxyz') // as narrow as it goes; kept columns still whole
  })

  it('count wide characters (CJK, emoji) as two columns: a row of them fits, and piped columns line up', () => {
    const cols = (l: string) => Array.from(l).reduce((w, c) => w + (/[\u3000-\u9fff\u{1f300}-\u{1f64f}]/u.test(c) ? 2 : 1), 0)
    const wide = [['instabase', 'default', 'token', 'file', '組織コンテキスト名前がとても長い組織', '-', 'API token: expiry unknown']]
    const head = ['PROVIDER', 'PROFILE', 'KIND', 'SOURCE', 'IDENTITY', 'TOKENS', 'KEY EXPIRY']
    const fit = formatTable(head, wide, { width: 80, keep: [0, 1] })
    for (const l of fit.trimEnd().split('\n')) expect(cols(l), l).toBeLessThanOrEqual(80)
    expect(fit).toMatch(/組織.*…/)
    const piped = formatTable(head, [...wide, ['lucid', 'default', 'api-key', 'file', 'ascii@example.com', '-', '-']])
      .trimEnd()
      .split('\n')
    const tokensAt = (l: string) => cols(l.slice(0, l.indexOf(' -') + 1))
    expect(tokensAt(piped[1] ?? '')).toBe(tokensAt(piped[2] ?? ''))
  })
})
