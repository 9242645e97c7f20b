import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLupaSearch, type LupaEmulator } from '../../emulators/lupasearch.js'
import { inProcessCli } from '../../helpers/run.js'

const PW = 'lupa-password-123'
let lupa: LupaEmulator
const { cli, reset, state } = inProcessCli(() => ({ AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl }))
beforeAll(async () => {
  lupa = await startLupaSearch()
})
afterAll(() => lupa.close())
beforeEach(() => {
  reset()
  lupa.keys.clear()
  lupa.tokenTtlSeconds = 3600
})

const login = (extra: string[] = []) => cli(['login', 'lupa', '--email', 'dev@example.com', '--password-stdin', ...extra], { stdin: `${PW}\n` })

describe('lupasearch', () => {
  it('logs in with email and password (alias lupa), defaults the only organization, caches the JWT', async () => {
    const r = await login(['--project', 'shop'])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('Logged in to LupaSearch as dev@example.com')
    const item = JSON.parse(state.store.items.get('lupasearch:default') ?? '{}')
    expect(item.password).toBe(PW)
    const before = lupa.loginRequests()
    const t = await cli(['token', 'lupasearch', '--format', 'json'])
    const j = JSON.parse(t.stdout)
    expect(j.provider).toBe('lupasearch')
    expect(lupa.isValid(j.access_token)).toBe(true)
    expect(lupa.loginRequests()).toBe(before)
    const who = JSON.parse((await cli(['whoami', 'lupa', '--json'])).stdout)
    expect(who).toMatchObject({ provider: 'lupasearch', email: 'dev@example.com', organizations: [{ slug: 'acme', role: 'ORGANIZATION_ADMIN' }] })
    expect(typeof who.id).toBe('string')
  })

  it('renews an expired JWT with the stored password: one login request', async () => {
    lupa.tokenTtlSeconds = 100 // the 300 s minimum is clamped to 50 s for such tokens
    await login()
    lupa.tokenTtlSeconds = 3600
    const before = lupa.loginRequests()
    expect((await cli(['token', 'lupasearch'], { now: Date.now() + 40_000 })).code).toBe(0) // 60 s left: cached
    expect(lupa.loginRequests() - before).toBe(0)
    const t = await cli(['token', 'lupasearch'], { now: Date.now() + 60_000 }) // 40 s left
    expect(t.code).toBe(0)
    expect(lupa.loginRequests() - before).toBe(1)
    expect(lupa.isValid(t.stdout.trim())).toBe(true)
  })

  it('--no-store-password: a near-expiry token is served with a warning; an expired one is exit 4', async () => {
    lupa.tokenTtlSeconds = 100
    await login(['--no-store-password'])
    expect(JSON.parse(state.store.items.get('lupasearch:default') ?? '{}').password).toBeUndefined()
    const near = await cli(['token', 'lupasearch'], { now: Date.now() + 60_000 })
    expect(near.code).toBe(0)
    expect(near.stderr).toMatch(/warning: .*cannot be renewed/)
    const expired = await cli(['token', 'lupasearch'], { now: Date.now() + 200_000 })
    expect(expired.code).toBe(4)
    expect(expired.stderr).toContain('authctl login lupasearch')
  })

  it('keys create without a required flag is exit 2 before the login is read (no passphrase typed for nothing)', async () => {
    // Not logged in at all: the missing flag is still what is reported.
    for (const [provider, flag] of [
      ['lupa', '--description'],
      ['haut', '--name'],
    ]) {
      const r = await cli(['keys', 'create', provider as string])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`^authctl: missing ${flag}\nhint: `))
    }
  })

  it('a wrong password is exit 4 with the provider message in one line', async () => {
    const r = await cli(['login', 'lupasearch', '--email', 'dev@example.com', '--password-stdin'], { stdin: 'wrong-pass-xyz' })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('Invalid email or password')
    expect(r.stderr).not.toContain('wrong-pass-xyz')
  })

  it('keys create → list (masked) → revoke; --save makes token --api-key and exec use it', async () => {
    await login(['--project', 'shop'])
    const c = await cli(['keys', 'create', 'lupasearch', '--description', 'staging import', '--index', 'idx-1', '--save'])
    expect(c.code).toBe(0)
    const secret = c.stdout.trim()
    const stored = [...lupa.keys.values()][0]
    expect(stored).toMatchObject({ key: secret, access: 'read', restrictIndexScope: true, indexIds: ['idx-1'], expiration: null, org: 'acme', project: 'shop' })
    const list = JSON.parse((await cli(['keys', 'list', 'lupa', '--json'])).stdout)
    expect(list).toEqual([{ id: stored!.id, name: 'staging import', masked_key: `****${secret.slice(-3)}`, expires_at: null, access: 'read' }])
    expect(JSON.stringify(list)).not.toContain(secret)
    expect((await cli(['token', 'lupa', '--api-key'])).stdout).toBe(`${secret}\n`)
    expect((await cli(['token', 'lupa', '--api-key', '--format', 'header'])).stdout).toBe(`X-Lupa-Api-Key: ${secret}\n`)
    const env = (await cli(['token', 'lupa', '--format', 'env'])).stdout
    expect(env).toContain(`export LUPA_API_KEY='${secret}'`)
    expect(env).toMatch(/export LUPA_ACCESS_TOKEN='eyJ/)
    expect((await cli(['keys', 'revoke', 'lupa', stored!.id])).code).toBe(2) // non-interactive needs --yes
    expect((await cli(['keys', 'revoke', 'lupa', stored!.id], { tty: true, answers: { Revoke: false } })).code).toBe(130)
    expect(lupa.keys.size).toBe(1)
    expect((await cli(['keys', 'revoke', 'lupa', stored!.id, '--yes'])).code).toBe(0)
    expect(lupa.keys.size).toBe(0)
    expect((await cli(['keys', 'revoke', 'lupa', stored!.id, '--yes'])).code).toBe(3)
  })

  it('keys: --access full, --expires ISO, bad values and foreign flags are exit 2', async () => {
    await login(['--project', 'shop'])
    const c = await cli(['keys', 'create', 'lupa', '--description', 'd', '--access', 'full', '--expires', '2099-01-31', '--json'])
    expect(JSON.parse(c.stdout)).toMatchObject({ access: 'full', expiration: '2099-01-31T00:00:00.000Z', key: expect.any(String) })
    for (const bad of [
      ['--access', 'admin'],
      ['--expires', 'tomorrow'],
      ['--expires', '2001-01-01'],
      ['--name', 'x'],
    ]) {
      expect((await cli(['keys', 'create', 'lupa', '--description', 'd', ...bad])).code).toBe(2)
    }
    expect((await cli(['keys', 'create', 'lupa'])).code).toBe(2) // --description is required
    expect((await cli(['keys', 'list', 'lupa', '--project', 'nope'])).code).toBe(3)
  })

  it('an API-key-only profile: token prints the key, header is X-Lupa-Api-Key, exec sets LUPA_API_KEY only', async () => {
    const r = await cli(['login', 'lupasearch', '--api-key-stdin'], { stdin: 'SOFKt8Xg6b98L30euM0K4vVR34U8y5hoiagUDBlxsRhmSgNcl7\n' })
    expect(r.code).toBe(0)
    expect((await cli(['token', 'lupasearch'])).stdout).toBe('SOFKt8Xg6b98L30euM0K4vVR34U8y5hoiagUDBlxsRhmSgNcl7\n')
    expect((await cli(['token', 'lupasearch', '--format', 'header'])).stdout).toBe('X-Lupa-Api-Key: SOFKt8Xg6b98L30euM0K4vVR34U8y5hoiagUDBlxsRhmSgNcl7\n')
    expect((await cli(['token', 'lupasearch', '--format', 'env'])).stdout).toBe("export LUPA_API_KEY='SOFKt8Xg6b98L30euM0K4vVR34U8y5hoiagUDBlxsRhmSgNcl7'\n")
    expect((await cli(['whoami', 'lupasearch'])).code).toBe(7)
    expect((await cli(['keys', 'list', 'lupasearch', '--project', 'shop'])).code).toBe(4)
  })

  it('env credentials (LUPA_EMAIL/LUPA_PASSWORD) work with no login', async () => {
    const env = { LUPA_EMAIL: 'dev@example.com', LUPA_PASSWORD: PW }
    const a = await cli(['token', 'lupasearch'], { env })
    expect(a.code).toBe(0)
    const before = lupa.loginRequests()
    expect((await cli(['token', 'lupasearch'], { env })).stdout).toBe(a.stdout)
    expect(lupa.loginRequests()).toBe(before)
    expect(state.store.items.size).toBe(0)
  })

  it('login flags of other providers are exit 2', async () => {
    expect((await cli(['login', 'lupasearch', '--client-id', 'x'])).code).toBe(2)
    expect((await cli(['login', 'lucidworks', '--email', 'x'])).code).toBe(2)
  })
})
