import { describe, expect, it } from 'vitest'
import { fleetKeyFrom, openEntry, redactRedisUrl, sealEntry, sharedSlot } from '../../../src/tokens/shared-cache.js'
import type { Credential } from '../../../src/providers/types.js'

const FLEET = Buffer.from('q0V8m3Zr5yKcX1tN7bWfLh2sJd9pGe4uAo6iRzTnYvE=')
const pw = (password: string): Credential => ({ kind: 'password', source: 'environment', secret: { password }, data: { email: 'dev@example.com' } })
const oauth = (cacheKey: string, refreshToken: string): Credential => ({
  kind: 'oauth',
  source: 'file',
  secret: { clientSecret: 'app-secret', refreshToken, cacheKey },
  data: { clientId: 'app' },
})
const entry = { gen: 5, token: { accessToken: 'tok-abc', expiresAt: 1 }, grant: { refreshToken: 'r5' } }

describe('shared cache entries and names', () => {
  it('names are keyed by the fleet key and never derived from a password', () => {
    expect(sharedSlot(FLEET, pw('one'), 'lupasearch', 'jwt').name).toBe(sharedSlot(FLEET, pw('two'), 'lupasearch', 'jwt').name)
    expect(sharedSlot(FLEET, pw('one'), 'lupasearch', 'jwt').name).not.toBe(
      sharedSlot(Buffer.from('another-fleet-key-0123456789abcdef'), pw('one'), 'lupasearch', 'jwt').name,
    )
    expect(sharedSlot(FLEET, pw('one'), 'lupasearch', 'jwt').name).toMatch(/^authctl:v2:token:[0-9a-f]{32}$/)
  })

  it('two logins of one OAuth app (no user id) get different names and keys; a rotated grant keeps them', () => {
    const a = sharedSlot(FLEET, oauth('login-a', 'r1'), 'lucid', 'oauth')
    const b = sharedSlot(FLEET, oauth('login-b', 'r1'), 'lucid', 'oauth')
    expect(a.name).not.toBe(b.name)
    expect(openEntry(b, sealEntry(a, entry))).toBeUndefined()
    expect(sharedSlot(FLEET, oauth('login-a', 'r9'), 'lucid', 'oauth')).toEqual(a)
  })

  it('an entry opens only under its fleet key, credential and slot, and not after tampering', () => {
    const s = sharedSlot(FLEET, pw('one'), 'lupasearch', 'jwt')
    const sealed = sealEntry(s, entry)
    expect(openEntry(s, sealed)).toEqual(entry)
    expect(sealed).not.toContain('tok-abc')
    expect(openEntry(sharedSlot(FLEET, pw('two'), 'lupasearch', 'jwt'), sealed)).toBeUndefined()
    expect(openEntry(sharedSlot(FLEET, pw('one'), 'lupasearch', 'other-slot'), sealed)).toBeUndefined() // no swapping between slots
    expect(openEntry(sharedSlot(Buffer.from('x'.repeat(32)), pw('one'), 'lupasearch', 'jwt'), sealed)).toBeUndefined()
    const box = JSON.parse(sealed)
    box.ct = Buffer.from(Buffer.from(box.ct, 'base64').map((c: number, i: number) => (i === 3 ? c ^ 1 : c))).toString('base64')
    expect(openEntry(s, JSON.stringify(box))).toBeUndefined()
    expect(openEntry(s, 'garbage')).toBeUndefined()
  })

  it('the fleet key must be at least 32 bytes', () => {
    expect(() => fleetKeyFrom(undefined)).toThrow(/AUTHCTL_CACHE_KEY/)
    expect(() => fleetKeyFrom('x'.repeat(31))).toThrow(/too short/)
    expect(fleetKeyFrom('x'.repeat(32)).length).toBe(32)
  })

  it('redacts the Redis password in userinfo and in ?password=', () => {
    expect(redactRedisUrl('redis://user:pw1@h:6379/0')).toBe('redis://user:***@h:6379/0')
    expect(redactRedisUrl('rediss://h:6379/0?password=pw2&db=1')).toBe('rediss://h:6379/0?password=***&db=1')
    expect(redactRedisUrl('redis://hunter2-typed-as-user@h:6379/0')).toBe('redis://***@h:6379/0')
  })
})
