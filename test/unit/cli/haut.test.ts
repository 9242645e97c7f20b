import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startHaut, type HautEmulator } from '../../emulators/haut.js'
import { inProcessCli } from '../../helpers/run.js'

const PW = 'haut-password-123'
let haut: HautEmulator
const { cli, reset, state } = inProcessCli(() => ({ AUTHCTL_HAUT_API_URL: haut.apiUrl }))
beforeAll(async () => {
  haut = await startHaut({
    users: [
      { id: 7, email: 'lab@example.com', password: PW, companyId: '123e4567-e89b-12d3-a456-426614174000' },
      { id: 8, email: 'mfa@example.com', password: PW, companyId: 'c2', mfa: true },
    ],
  })
})
afterAll(() => haut.close())
beforeEach(() => {
  reset()
  haut.privateTokens.clear()
  haut.tokenTtlSeconds = 3600
})

const login = (extra: string[] = []) => cli(['login', 'hautai', '--email', 'lab@example.com', '--password-stdin', ...extra], { stdin: `${PW}\n` })

describe('haut', () => {
  it('logs in (alias hautai) with username = email, stores company and id, whoami checks the token live', async () => {
    const r = await login()
    expect(r.code).toBe(0)
    const loginReq = haut.requests.find((q) => q.path === '/api/v1/auth/login/')
    expect(JSON.parse(loginReq!.body)).toEqual({ username: 'lab@example.com', password: PW })
    const before = haut.count('/datasets/')
    const who = JSON.parse((await cli(['whoami', 'haut', '--json'])).stdout)
    expect(who).toMatchObject({ provider: 'haut', email: 'lab@example.com', id: '7', company_id: '123e4567-e89b-12d3-a456-426614174000', valid: true })
    expect(haut.count('/datasets/') - before).toBe(1)
    const env = (await cli(['token', 'haut', '--format', 'env'])).stdout
    expect(env).toMatch(/^export HAUT_ACCESS_TOKEN='eyJ[^']+'\nexport HAUT_COMPANY_ID='123e4567-e89b-12d3-a456-426614174000'\n$/)
  })

  it('MFA accounts: exit 4 saying so and pointing to --token-stdin', async () => {
    const r = await cli(['login', 'haut', '--email', 'mfa@example.com', '--password-stdin'], { stdin: PW })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('mfa_required')
    expect(r.stderr).toContain('--token-stdin --company-id')
  })

  it('renews with the stored password after expiry: one login request', async () => {
    haut.tokenTtlSeconds = 60 // the 300 s minimum is clamped to 30 s for such tokens
    await login()
    haut.tokenTtlSeconds = 3600
    const before = haut.loginRequests()
    const t = await cli(['token', 'haut'], { now: Date.now() + 40_000 }) // 20 s left
    expect(t.code).toBe(0)
    expect(haut.loginRequests() - before).toBe(1)
    expect(haut.isValid(t.stdout.trim())).toBe(true)
  })

  it('keys: create (default 90 days, said on stderr), list follows every page, revoke (204), unknown id exit 3', async () => {
    await login()
    const c = await cli(['keys', 'create', 'haut', '--name', 'ci'])
    expect(c.code).toBe(0)
    expect(c.stderr).toContain('90 days')
    const secret = c.stdout.trim()
    expect(secret).toMatch(/^hpt_/)
    const exp = Date.parse([...haut.privateTokens.values()][0]!.expiration_time)
    expect(Math.abs(exp - (Date.now() + 90 * 86400_000))).toBeLessThan(60_000)
    for (let i = 0; i < 4; i++) await cli(['keys', 'create', 'haut', '--name', `k${i}`, '--expires', '30d'])
    const before = haut.count('/auth/private_tokens/', 'GET')
    const list = JSON.parse((await cli(['keys', 'list', 'haut', '--json'])).stdout)
    expect(list).toHaveLength(5) // page size 2 → 3 pages
    expect(haut.count('/auth/private_tokens/', 'GET') - before).toBe(3)
    expect(list[0]).toEqual({ id: '1', name: 'ci', masked_key: '****', expires_at: expect.any(String) })
    expect(JSON.stringify(list)).not.toContain(secret)
    expect((await cli(['keys', 'list', 'haut'])).stdout).toMatch(/^ID +NAME +KEY +EXPIRES\n1 +ci +\*\*\*\* +\d{4}-/)
    expect((await cli(['keys', 'revoke', 'haut', '1', '--yes'])).code).toBe(0)
    expect(haut.privateTokens.has(1)).toBe(false)
    expect((await cli(['keys', 'revoke', 'haut', '1', '--yes'])).code).toBe(3)
    expect((await cli(['keys', 'create', 'haut', '--name', 'x', '--expires', 'never'])).code).toBe(2)
    expect((await cli(['keys', 'create', 'haut', '--name', 'x', '--org', 'acme'])).code).toBe(2)
  })

  it('a private token: --token-stdin needs --company-id, is verified, and is served with no login', async () => {
    await login()
    const created = (await cli(['keys', 'create', 'haut', '--name', 'ci', '--expires', '2099-01-01'])).stdout.trim()
    reset()
    expect((await cli(['login', 'haut', '--token-stdin'], { stdin: created })).code).toBe(2)
    const r = await cli(['login', 'haut', '--token-stdin', '--company-id', '123e4567-e89b-12d3-a456-426614174000'], { stdin: created })
    expect(r.code).toBe(0)
    const before = haut.requests.length
    expect((await cli(['token', 'haut'])).stdout).toBe(`${created}\n`)
    expect(haut.requests.length).toBe(before)
    const bad = await cli(['login', 'haut', '--token-stdin', '--company-id', 'x'], { stdin: 'hpt_not-a-real-token' })
    expect(bad.code).toBe(4)
    expect(bad.stderr).toContain('invalid_token')
  })

  it('--save stores a private token that token/exec then use', async () => {
    await login()
    const c = await cli(['keys', 'create', 'haut', '--name', 'ci', '--save'])
    const secret = c.stdout.trim()
    expect(JSON.parse(state.store.items.get('haut:default') ?? '{}').privateToken).toBe(secret)
    expect((await cli(['token', 'haut'])).stdout).toBe(`${secret}\n`)
  })

  it('a revoked or expired token mid-session is exit 4 (invalid_token)', async () => {
    await cli(['login', 'haut', '--email', 'lab@example.com', '--password-stdin', '--no-store-password'], { stdin: PW })
    haut.users.get('lab@example.com')!.password = 'changed'
    try {
      // sessions survive a password change in the emulator, so kill the session by expiry instead
      haut.faults.push({
        path: '/datasets/',
        status: 401,
        body: JSON.stringify({ type: 'client_error', errors: [{ code: 'invalid_token', detail: 'The provided token is expired or invalid.', attr: null }] }),
      })
      const r = await cli(['whoami', 'haut'])
      expect(r.code).toBe(4)
      expect(r.stderr).toContain('invalid_token')
    } finally {
      haut.users.get('lab@example.com')!.password = PW
    }
  })
})
