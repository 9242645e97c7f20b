import { describe, expect, it } from 'vitest'
import { nextPage } from '../../../src/providers/haut/index.js'

describe('haut keys list: next-page links', () => {
  const base = new URL('https://saas.haut.ai/api/v1/')
  const current = 'https://saas.haut.ai/api/v1/auth/private_tokens/?page=1'
  it.each([
    ['http://saas.haut.ai/api/v1/auth/private_tokens/?page=2', 'https://saas.haut.ai/api/v1/auth/private_tokens/?page=2'],
    ['http://saas.haut.ai:80/api/v1/auth/private_tokens/?page=2', 'https://saas.haut.ai/api/v1/auth/private_tokens/?page=2'],
    ['https://saas.haut.ai/api/v1/auth/private_tokens/?page=3', 'https://saas.haut.ai/api/v1/auth/private_tokens/?page=3'],
    ['/api/v1/auth/private_tokens/?page=4', 'https://saas.haut.ai/api/v1/auth/private_tokens/?page=4'],
  ])('%s is requested as %s', (next, want) => {
    expect(nextPage(next, current, base)).toBe(want)
  })
  it.each(['http://evil.example/api/v1/?page=2', 'https://saas.haut.ai.evil.example/?page=2', 'http://saas.haut.ai:8080/api/v1/?page=2'])(
    '%s (another origin) is refused: exit 5',
    (next) => {
      expect(() => nextPage(next, current, base)).toThrow(/another host/)
    },
  )
  it('a plain-http API (loopback emulator) keeps http links', () => {
    const local = new URL('http://127.0.0.1:4000/api/v1/')
    expect(nextPage('http://127.0.0.1:4000/api/v1/x/?page=2', 'http://127.0.0.1:4000/api/v1/x/?page=1', local)).toBe('http://127.0.0.1:4000/api/v1/x/?page=2')
  })
})
