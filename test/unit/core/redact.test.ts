import { describe, expect, it } from 'vitest'
import { maskSecret, maskVisible, redactUrl, secretQueryParams } from '../../../src/kernel/redact.js'
import { validateProfileName } from '../../../src/kernel/profile.js'

describe('maskSecret', () => {
  it('shows at most the last 4 characters', () => {
    expect(maskSecret('sk-abcdefghijwxyz')).toBe('****wxyz')
    expect(maskSecret('short')).toBe('****')
  })
})

describe('maskVisible: a provider’s own masked form of a key', () => {
  it('keeps a form that shows 4 characters or fewer; otherwise shows only the last ones, at most 4', () => {
    expect(maskVisible('****abcd')).toBe('****abcd')
    expect(maskVisible('ab12****')).toBe('ab12****')
    expect(maskVisible('abc*****xyz')).toBe('****xyz')
    expect(maskVisible('sk_live_0123456789abcdef')).toBe('****cdef') // the whole key, sent by mistake
    expect(maskVisible('abcdef******')).toBe('****')
    expect(maskVisible('')).toBe('****')
  })
})

describe('secretQueryParams', () => {
  it('names the query parameters whose values are secrets', () => {
    expect(secretQueryParams(new URL('https://fn.example.net/api/token?code=abc&api-version=2'))).toEqual(['code'])
    expect(secretQueryParams(new URL('https://h.example/t?api_key=1&x=2&client_secret=3'))).toEqual(['api_key', 'client_secret'])
    expect(secretQueryParams(new URL('https://h.example/t?api-version=2024-01-01'))).toEqual([])
  })
})

describe('redactUrl', () => {
  it('hides secret query values and userinfo', () => {
    const out = redactUrl('https://u:p@h.example/t?scope=a&client_secret=s3cret&code=abc')
    expect(out).not.toContain('s3cret')
    expect(out).not.toContain('abc')
    expect(out).not.toContain('u:p')
    expect(out).toContain('scope=a')
  })
})

describe('validateProfileName', () => {
  it.each(['default', 'ci-prod', 'a.b_c', 'X1'])('accepts %s', (n) => expect(validateProfileName(n)).toBe(n))
  it.each(['', '../x', 'a/b', 'a\0b', '.hidden', 'a..b', 'x'.repeat(65)])('refuses %j', (n) => {
    expect(() => validateProfileName(n)).toThrow(/invalid profile name/)
  })
})
