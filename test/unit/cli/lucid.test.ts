import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLucid, type LucidEmulator } from '../../emulators/lucid.js'
import { inProcessCli } from '../../helpers/run.js'

const KEY = 'lucid-api-key-0123456789abcdef'
const SECRET = 'lucid-secret-0123456789'
let lucid: LucidEmulator
const { cli, reset, state } = inProcessCli(() => ({ AUTHCTL_LUCID_API_URL: lucid.apiUrl, AUTHCTL_LUCID_AUTHORIZE_URL: lucid.authorizeUrl }))
beforeAll(async () => {
  lucid = await startLucid()
})
afterAll(() => lucid.close())
beforeEach(() => {
  reset()
  lucid.tokenTtlSeconds = 3600
})

/** What a person does with --manual: open the URL, approve, copy the code from Lucid's page. */
async function approveManually(scope = 'user.profile offline_access'): Promise<string> {
  const url = new URL(lucid.authorizeUrl)
  url.search = new URLSearchParams({
    client_id: 'lucid-client',
    redirect_uri: `${lucid.url}/oauth2/clients/lucid-client/redirect`,
    response_type: 'code',
    scope,
    state: 'x',
  }).toString()
  const res = await fetch(url, { redirect: 'manual' })
  return new URL(res.headers.get('location') as string).searchParams.get('code') as string
}

describe('lucid API key', () => {
  it('is checked with /users/me/profile (Lucid-Api-Version: 1) and served without requests', async () => {
    const r = await cli(['login', 'lucid', '--api-key-stdin'], { stdin: `${KEY}\n` })
    expect(r.code).toBe(0)
    expect(lucid.requests.at(-1)).toMatchObject({ path: '/users/me/profile' })
    expect(lucid.requests.at(-1)!.headers['lucid-api-version']).toBe('1')
    const before = lucid.requests.length
    expect((await cli(['token', 'lucid', '--format', 'header'])).stdout).toBe(`Authorization: Bearer ${KEY}\nLucid-Api-Version: 1\n`)
    expect((await cli(['token', 'lucid', '--format', 'env'])).stdout).toBe(`export LUCID_ACCESS_TOKEN='${KEY}'\nexport LUCID_API_VERSION='1'\n`)
    expect(lucid.requests.length).toBe(before)
    expect(JSON.parse((await cli(['whoami', 'lucid', '--json'])).stdout)).toMatchObject({
      provider: 'lucid',
      id: '341',
      email: 'john-doe@example.com',
      username: 'johndoe',
    })
  })

  it('a refused key is exit 4; keys → exit 7 naming the developer portal', async () => {
    expect((await cli(['login', 'lucid', '--api-key-stdin'], { stdin: 'not-a-key-000000' })).code).toBe(4)
    const k = await cli(['keys', 'create', 'lucid', '--name', 'x'])
    expect(k.code).toBe(7)
    expect(k.stderr).toContain('developer portal')
  })
})

describe('lucid OAuth', () => {
  it('--manual reads the secret then the pasted code from stdin, always asks offline_access, stores the refresh token', async () => {
    const code = await approveManually()
    const r = await cli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], { stdin: `${SECRET}\n${code}\n` })
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('scope=user.profile+offline_access')
    expect(r.stderr).toContain(encodeURIComponent(`${lucid.url}/oauth2/clients/lucid-client/redirect`))
    const exchange = lucid.requests.find((q) => q.path === '/oauth2/token')!
    expect(exchange.headers['content-type']).toBe('application/json')
    expect(JSON.parse(exchange.body)).toMatchObject({
      grant_type: 'authorization_code',
      code,
      client_id: 'lucid-client',
      redirect_uri: `${lucid.url}/oauth2/clients/lucid-client/redirect`,
    })
    const stored = JSON.parse(state.store.items.get('lucid:default') ?? '{}')
    expect(stored.refreshToken).toMatch(/^oauth2-/)
    expect(stored.clientSecret).toBe(SECRET)
    expect(JSON.parse((await cli(['whoami', 'lucid', '--json'])).stdout).email).toBe('john-doe@example.com')
  })

  it('refresh rotates: the new refresh token is stored and the old one is dead', async () => {
    await cli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], { stdin: `${SECRET}\n${await approveManually()}\n` })
    const r1 = JSON.parse(state.store.items.get('lucid:default') ?? '{}').refreshToken
    const old = (await cli(['token', 'lucid'])).stdout.trim()
    const t = await cli(['token', 'lucid', '--force-refresh'])
    expect(t.code).toBe(0)
    const r2 = JSON.parse(state.store.items.get('lucid:default') ?? '{}').refreshToken
    expect(r2).not.toBe(r1)
    expect(lucid.isValid(t.stdout.trim())).toBe(true)
    expect(lucid.isValid(old)).toBe(false)
    expect((await cli(['token', 'lucid', '--force-refresh'])).code).toBe(0) // r2 works
  })

  it('a dead grant is exit 4 and kept until logout; logout revokes the grant', async () => {
    await cli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], { stdin: `${SECRET}\n${await approveManually()}\n` })
    const access = (await cli(['token', 'lucid'])).stdout.trim()
    const out = await cli(['logout', 'lucid', '--json'])
    expect(out.code).toBe(0)
    expect(JSON.parse(out.stdout).revoked).toBe(true)
    expect(lucid.requests.at(-1)).toMatchObject({ path: '/oauth2/token/revoke' })
    expect(lucid.isValid(access)).toBe(false)
    expect(state.store.items.size).toBe(0)
  })

  it('403 from the token endpoint (bad client) is exit 4 with the reason; --manual without a code is exit 2', async () => {
    const r = await cli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], {
      stdin: `wrong-secret-xyz\n${await approveManually()}\n`,
    })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('invalid_client')
    expect(r.stderr).not.toContain('wrong-secret-xyz')
    expect((await cli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--manual'], { stdin: `${SECRET}\n` })).code).toBe(2)
    expect((await cli(['login', 'lucid'])).code).toBe(2)
  })
})
