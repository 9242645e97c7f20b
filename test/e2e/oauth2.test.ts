import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeJwtClaims } from '../../src/kernel/jwt.js'
import { startOAuth2, type OAuth2Emulator } from '../emulators/oauth2.js'
import { baseEnv, runCli, type CliResult } from '../helpers/cli.js'
import { API_RESOURCE, OIDC_CLIENTS, startOidcProvider, type RealOidcProvider } from '../helpers/oidc-provider.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { tempDir } from '../helpers/tmp.js'

// A client id and secret with characters RFC 6749 §2.3.1 form-urlencodes before Basic.
const CC = { id: 'cc client:1', secret: 'CANARY-se+cr/et %1' }
const POST = { id: 'post-client', secret: 'CANARY-post-secret-0123' }
const PUBLIC = 'public-client'

let emu: OAuth2Emulator
beforeAll(async () => {
  emu = await startOAuth2({
    clients: {
      [CC.id]: { secret: CC.secret, auth: 'basic' },
      [POST.id]: { secret: POST.secret, auth: 'body' },
      [PUBLIC]: { auth: 'none' },
    },
  })
})
afterAll(() => emu.close())

function fileEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return baseEnv({ AUTHCTL_CONFIG_DIR: tempDir('e2e-oauth2-'), AUTHCTL_STORE: 'file', AUTHCTL_PASSPHRASE: 'e2e passphrase', ...extra })
}

async function ok(r: Promise<CliResult>): Promise<CliResult> {
  const res = await r
  expect(res.code, res.stderr).toBe(0)
  return res
}

const childEnv = (names: string[]) => `const e=process.env; console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map(n=>[n,e[n]??null]))))`

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
}

async function loginCc(env: NodeJS.ProcessEnv, extra: string[] = []): Promise<CliResult> {
  return runCli(['login', 'oauth2', '--token-url', emu.tokenUrl, '--client-id', CC.id, '--client-secret-stdin', ...extra], { env, input: `${CC.secret}\n` })
}

async function loginRefresh(env: NodeJS.ProcessEnv, rt: string): Promise<CliResult> {
  return runCli(['login', 'oauth2', '--token-url', emu.tokenUrl, '--client-id', CC.id, '--client-secret-stdin', '--refresh-token-stdin'], {
    env,
    input: `${CC.secret}\n${rt}\n`,
  })
}

describe('oauth2 against the generic token-endpoint emulator', () => {
  it('client credentials with Basic auth: login → token (raw, header, json) → exec → env → whoami → status → logout', async () => {
    const env = fileEnv()
    const before = emu.issued.length
    const login = await ok(
      loginCc(env, ['--scope', 'read', '--scope', 'write admin', '--audience', 'https://api.example.com', '--resource', 'https://api.example.com/v1']),
    )
    expect(login.stderr).toContain('Logged in to OAuth2 client')
    const issued = emu.issued.slice(before)
    expect(issued).toHaveLength(1)
    expect(issued[0]).toMatchObject({
      clientId: CC.id,
      auth: 'basic',
      grant: 'client_credentials',
      scopes: ['read', 'write', 'admin'],
      audience: 'https://api.example.com',
      resource: 'https://api.example.com/v1',
    })
    const token = (await ok(runCli(['token', 'oauth2'], { env }))).stdout.trim()
    expect(token).toBe(issued[0]?.accessToken) // the login's token, cached: no second request
    expect(emu.issued.length - before).toBe(1)
    expect((await ok(runCli(['token', 'oauth2', '--format', 'header'], { env }))).stdout).toBe(`Authorization: Bearer ${token}\n`)
    const json = JSON.parse((await ok(runCli(['token', 'oauth2', '--format', 'json'], { env }))).stdout)
    expect(json).toMatchObject({ provider: 'oauth2', profile: 'default', access_token: token, token_type: 'Bearer', scopes: ['read', 'write', 'admin'] })
    expect(Date.parse(json.expires_at) - Date.now()).toBeGreaterThan(3000_000)
    const ex = await ok(
      runCli(['exec', '--provider', 'oauth2', '--', process.execPath, '-e', childEnv(['OAUTH2_ACCESS_TOKEN', 'OAUTH2_CLIENT_SECRET', 'AUTHCTL_PASSPHRASE'])], {
        env: { ...env, OAUTH2_CLIENT_SECRET: 'inherited-secret' },
      }),
    )
    expect(JSON.parse(ex.stdout)).toEqual({ OAUTH2_ACCESS_TOKEN: token, OAUTH2_CLIENT_SECRET: null, AUTHCTL_PASSPHRASE: null })
    expect((await ok(runCli(['env', '--provider', 'oauth2', '--format', 'dotenv'], { env }))).stdout).toBe(
      `OAUTH2_ACCESS_TOKEN=${token}\nAUTHCTL_PROFILE=default\n`,
    )
    expect((await ok(runCli(['token', 'oauth2', '--format', 'env'], { env }))).stdout).toBe(`export OAUTH2_ACCESS_TOKEN='${token}'\n`)
    const who = JSON.parse((await ok(runCli(['whoami', 'oauth2', '--json'], { env }))).stdout)
    expect(who).toMatchObject({
      provider: 'oauth2',
      client_id: CC.id,
      grant: 'client_credentials',
      scopes: ['read', 'write', 'admin'],
      jwt: false,
      source: 'file',
    })
    expect(who.expires_at).toMatch(/^\d{4}-/)
    expect((await ok(runCli(['status', 'oauth2'], { env }))).stdout).toMatch(
      /oauth2\s+default\s+client-credentials\s+file\s+cc client:1\s+read write admin: in/,
    )
    for (const f of allFiles(env.AUTHCTL_CONFIG_DIR as string)) {
      const text = readFileSync(f, 'utf8')
      expect(text, f).not.toContain(CC.secret)
      expect(text, f).not.toContain(token)
    }
    expect((await runCli(['logout', 'oauth2'], { env })).code).toBe(0)
    const after = await runCli(['token', 'oauth2'], { env })
    expect(after.code).toBe(4)
    expect(after.stderr).toContain('authctl login oauth2')
    expect((await runCli(['logout', 'oauth2'], { env })).code).toBe(3)
  })

  it('--auth body sends client_id/client_secret as form fields; --env-prefix names the variables; JWT claims in whoami; token_type kept', async () => {
    const env = fileEnv()
    emu.jwt = true
    emu.tokenType = 'DPoP'
    try {
      const before = emu.issued.length
      await ok(
        runCli(
          [
            'login',
            'oauth2',
            '--token-url',
            emu.tokenUrl,
            '--client-id',
            POST.id,
            '--auth',
            'body',
            '--client-secret-stdin',
            '--env-prefix',
            'MY_API',
            '--audience',
            'my-api',
          ],
          { env, input: POST.secret },
        ),
      )
      expect(emu.issued.slice(before).map((i) => [i.auth, i.audience])).toEqual([['body', 'my-api']])
      const token = (await ok(runCli(['token', 'oauth2'], { env }))).stdout.trim()
      expect((await ok(runCli(['token', 'oauth2', '--format', 'header'], { env }))).stdout).toBe(`Authorization: DPoP ${token}\n`)
      const ex = await ok(runCli(['exec', '--', process.execPath, '-e', childEnv(['MY_API_ACCESS_TOKEN', 'OAUTH2_ACCESS_TOKEN'])], { env }))
      expect(JSON.parse(ex.stdout)).toEqual({ MY_API_ACCESS_TOKEN: token, OAUTH2_ACCESS_TOKEN: null })
      const who = JSON.parse((await ok(runCli(['whoami', 'oauth2', '--json'], { env }))).stdout)
      expect(who).toMatchObject({ client_id: POST.id, jwt: true, sub: POST.id, iss: emu.url, aud: 'my-api', token_type: 'DPoP' })
      const kf = await ok(
        runCli(
          ['exec', '--keep-fresh', '--', process.execPath, '-e', 'const fs=require("fs");console.log(fs.readFileSync(process.env.MY_API_HEADERS_FILE,"utf8"))'],
          { env },
        ),
      )
      expect(kf.stdout).toBe(`Authorization: DPoP ${token}\n\n`)
    } finally {
      emu.jwt = false
      emu.tokenType = 'bearer'
    }
  })

  it('refresh-token grant: secret on stdin line 1, refresh token on line 2; the login stores the rotated refresh token', async () => {
    const env = fileEnv()
    const rt = emu.mintRefreshToken(CC.id, ['read'])
    const login = await ok(loginRefresh(env, rt))
    expect(login.stderr).toContain('refresh token')
    expect(emu.liveRefreshTokens()).not.toContain(rt) // used once by the login's verification
    const renewed = await ok(runCli(['token', 'oauth2', '--force-refresh'], { env }))
    expect(emu.isValid(renewed.stdout.trim())).toBe(true) // worked: the rotated one was stored
    const json = JSON.parse((await ok(runCli(['token', 'oauth2', '--format', 'json'], { env }))).stdout)
    expect(json.scopes).toEqual(['read'])
    const scoped = await runCli(['token', 'oauth2', '--scope', 'write'], { env })
    expect(scoped.code).toBe(2) // one grant, one lock: other scopes need another profile
  })

  it('rotation under 10 parallel `token` processes with a stale cache: exactly 1 refresh request, the rotated token stored', async () => {
    const env = fileEnv()
    const rt = emu.mintRefreshToken(CC.id)
    await issuingStaleTokens(emu, () => ok(loginRefresh(env, rt)))
    const before = emu.tokenRequests('refresh_token')
    const runs = await Promise.all(Array.from({ length: 10 }, () => runCli(['token', 'oauth2'], { env })))
    expect(
      runs.map((r) => r.code),
      runs.map((r) => r.stderr).join('\n'),
    ).toEqual(Array(10).fill(0))
    expect(emu.tokenRequests('refresh_token') - before).toBe(1)
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1)
    expect(emu.isValid(runs[0]?.stdout.trim() ?? '')).toBe(true)
    // The one live refresh token is the one stored: a forced renewal with it works.
    const live = emu.liveRefreshTokens()
    const again = await ok(runCli(['token', 'oauth2', '--force-refresh'], { env }))
    expect(emu.isValid(again.stdout.trim())).toBe(true)
    expect(live.filter((t) => !emu.liveRefreshTokens().includes(t))).toHaveLength(1) // the stored one, used and rotated
  })

  it('a public client (no secret) refreshes with client_id in the body', async () => {
    const env = fileEnv()
    const rt = emu.mintRefreshToken(PUBLIC)
    await ok(runCli(['login', 'oauth2', '--token-url', emu.tokenUrl, '--client-id', PUBLIC, '--refresh-token-stdin'], { env, input: `${rt}\n` }))
    const r = await ok(runCli(['token', 'oauth2', '--force-refresh'], { env }))
    expect(emu.isValid(r.stdout.trim())).toBe(true)
    expect(emu.issued.at(-1)).toMatchObject({ clientId: PUBLIC, auth: 'none', grant: 'refresh_token' })
  })

  it('environment credentials (CI, no login): token, cached for the next call; exec removes OAUTH2_CLIENT_SECRET; status says environment', async () => {
    const env = baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('e2e-oauth2-ci-'),
      AUTHCTL_STORE: 'keychain',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
      CI: 'true',
      OAUTH2_TOKEN_URL: emu.tokenUrl,
      OAUTH2_CLIENT_ID: CC.id,
      OAUTH2_CLIENT_SECRET: CC.secret,
      OAUTH2_SCOPE: 'read write',
      OAUTH2_AUDIENCE: 'ci-api',
    })
    const before = emu.issued.length
    const t1 = (await ok(runCli(['token', 'oauth2'], { env }))).stdout
    const t2 = (await ok(runCli(['token', 'oauth2'], { env }))).stdout
    expect(t2).toBe(t1)
    expect(emu.issued.slice(before).map((i) => [i.scopes, i.audience])).toEqual([[['read', 'write'], 'ci-api']])
    // Another server (or audience) with the same client never gets the cached token.
    const other = await ok(runCli(['token', 'oauth2'], { env: { ...env, OAUTH2_AUDIENCE: 'other-api' } }))
    expect(other.stdout).not.toBe(t1)
    const ex = await ok(runCli(['exec', '--no-mask', '--', process.execPath, '-e', childEnv(['OAUTH2_ACCESS_TOKEN', 'OAUTH2_CLIENT_SECRET'])], { env }))
    const seen = JSON.parse(ex.stdout)
    expect(seen.OAUTH2_CLIENT_SECRET).toBeNull()
    // (the other audience's token replaced the cached one: this is a fresh token for ci-api)
    expect(emu.issued.find((i) => i.accessToken === seen.OAUTH2_ACCESS_TOKEN)?.audience).toBe('ci-api')
    expect((await ok(runCli(['status', 'oauth2'], { env }))).stdout).toMatch(/oauth2\s+default\s+client-credentials\s+environment/)
    const half = await runCli(['token', 'oauth2'], { env: { ...env, OAUTH2_CLIENT_SECRET: '' } })
    expect(half.code).toBe(4)
    expect(half.stderr).toContain('OAUTH2_CLIENT_SECRET')
  })
})

describe('oauth2 bad inputs are exit 2 before anything is sent', () => {
  const cases: Array<{ name: string; args: string[]; input?: string; message: RegExp }> = [
    {
      name: 'an http URL off loopback',
      args: ['--token-url', 'http://auth.example.com/token', '--client-id', 'x', '--client-secret-stdin'],
      input: 's\n',
      message: /https/,
    },
    {
      name: 'a URL with a password in it',
      args: ['--token-url', 'https://u:p@auth.example.com/token', '--client-id', 'x', '--client-secret-stdin'],
      input: 's\n',
      message: /user name or password/,
    },
    {
      name: 'a URL with a secret in its query',
      args: ['--token-url', 'https://fn.example.net/api/token?code=CANARY-fn-key', '--client-id', 'x', '--client-secret-stdin'],
      input: 's\n',
      message: /must not carry a secret in its query \(code=\)/,
    },
    {
      name: 'a bad --env-prefix',
      args: ['--token-url', 'https://auth.example.com/token', '--client-id', 'x', '--env-prefix', 'MY-API', '--client-secret-stdin'],
      input: 's\n',
      message: /--env-prefix/,
    },
    {
      name: 'a bad --auth',
      args: ['--token-url', 'https://auth.example.com/token', '--client-id', 'x', '--auth', 'digest', '--client-secret-stdin'],
      input: 's\n',
      message: /--auth must be basic or body/,
    },
    {
      name: 'a client secret as a flag value',
      args: ['--token-url', 'https://auth.example.com/token', '--client-id', 'x', '--client-secret', 'CANARY-flag-secret'],
      message: /--client-secret-stdin[\s\S]*OAUTH2_CLIENT_SECRET/,
    },
    {
      name: 'a refresh token as a flag value',
      args: ['--token-url', 'https://auth.example.com/token', '--client-id', 'x', '--refresh-token', 'CANARY-flag-rt'],
      message: /--refresh-token-stdin/,
    },
    {
      name: 'client credentials without a secret (non-interactive)',
      args: ['--token-url', 'https://auth.example.com/token', '--client-id', 'x'],
      message: /--client-secret-stdin or set OAUTH2_CLIENT_SECRET/,
    },
    {
      name: 'both stdin flags but one line',
      args: ['--token-url', 'https://auth.example.com/token', '--client-id', 'x', '--client-secret-stdin', '--refresh-token-stdin'],
      input: 'only-one\n',
      message: /second/,
    },
  ]
  it.each(cases)('$name', async (c) => {
    const env = fileEnv()
    const before = emu.requests.length
    const r = await runCli(['login', 'oauth2', ...c.args], { env, input: c.input ?? '' })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(c.message)
    expect(r.stderr).not.toMatch(/CANARY/)
    expect(emu.requests.length).toBe(before)
  })

  it('an http OAUTH2_TOKEN_URL off loopback is exit 2 for token, before the secret is sent', async () => {
    const env = fileEnv({ OAUTH2_TOKEN_URL: 'http://auth.example.com/token', OAUTH2_CLIENT_ID: 'x', OAUTH2_CLIENT_SECRET: 'CANARY-s' })
    const r = await runCli(['token', 'oauth2'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('OAUTH2_TOKEN_URL')
  })
})

describe('oauth2 faults', () => {
  // Transport faults (refused, timeouts, 429, 5xx, bad bodies) are oauth2's row of the fault matrix
  // (test/e2e/faults.test.ts); these are the outcomes that depend on the stored login.
  it('401 is exit 4 and keeps the login; hostile tokens are exit 5, nothing stored; a dead refresh token is exit 4', async () => {
    const env = fileEnv()
    await ok(loginCc(env))
    const path = '/oauth2/token'
    emu.faults.push({ path, status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed\u001b[31m' }) })
    const r401 = await runCli(['token', 'oauth2', '--force-refresh'], { env })
    expect(r401.code).toBe(4)
    expect(r401.stderr).toContain('invalid_client')
    expect(r401.stderr).not.toContain('\u001b')
    expect((await runCli(['token', 'oauth2'], { env })).code).toBe(0) // reported, never deleted
    emu.hostile.token = 'evil token\u001b]0;pwned\u0007'
    try {
      const hostile = await runCli(['token', 'oauth2', '--force-refresh'], { env })
      expect(hostile.code).toBe(5)
      expect(hostile.stderr).toMatch(/malformed token/)
      expect(hostile.stderr).not.toContain('evil')
    } finally {
      delete emu.hostile.token
    }
    const refreshEnv = fileEnv()
    const rt = emu.mintRefreshToken(CC.id)
    await ok(
      runCli(['login', 'oauth2', '--token-url', emu.tokenUrl, '--client-id', CC.id, '--client-secret-stdin', '--refresh-token-stdin', '--no-verify'], {
        env: refreshEnv,
        input: `${CC.secret}\n${rt}\n`,
      }),
    )
    expect((await ok(runCli(['token', 'oauth2'], { env: refreshEnv }))).code).toBe(0)
    emu.faults.push({ path, status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'revoked' }) })
    const dead = await runCli(['token', 'oauth2', '--force-refresh'], { env: refreshEnv })
    expect(dead.code).toBe(4)
    expect(dead.stderr).toMatch(/invalid_grant/)
  })
})

describe('oauth2 against a certified OpenID Provider (node-oidc-provider, in process)', () => {
  let op: RealOidcProvider
  beforeAll(async () => {
    op = await startOidcProvider()
  })
  afterAll(() => op.close())

  /** `login oauth2` at the certified provider as `client`, with its secret sent by `method`; `input` on stdin. */
  const loginAtOp = (env: NodeJS.ProcessEnv, client: { client_id: string }, method: 'basic' | 'body', flags: string[], input: string) =>
    runCli(['login', 'oauth2', '--token-url', op.tokenUrl, '--client-id', client.client_id, '--auth', method, '--client-secret-stdin', ...flags], {
      env,
      input,
    })

  it('client credentials with a resource indicator: client_secret_basic and client_secret_post both get a JWT access token for the resource', async () => {
    for (const [method, client] of [
      ['basic', OIDC_CLIENTS.basic],
      ['body', OIDC_CLIENTS.post],
    ] as const) {
      const env = fileEnv()
      const before = op.requests.length
      await ok(loginAtOp(env, client, method, ['--scope', 'api:read', '--resource', API_RESOURCE], client.client_secret))
      expect(op.requests.slice(before)).toEqual([{ grant: 'client_credentials', auth: method, ok: true }])
      const token = (await ok(runCli(['token', 'oauth2'], { env }))).stdout.trim()
      expect(decodeJwtClaims(token)).toMatchObject({ client_id: client.client_id, aud: API_RESOURCE, scope: 'api:read', iss: op.issuer })
      const who = JSON.parse((await ok(runCli(['whoami', 'oauth2', '--json'], { env }))).stdout)
      expect(who).toMatchObject({ client_id: client.client_id, jwt: true, sub: client.client_id, iss: op.issuer, aud: API_RESOURCE, scopes: ['api:read'] })
      const ex = await ok(runCli(['exec', '--', process.execPath, '-e', childEnv(['OAUTH2_ACCESS_TOKEN'])], { env }))
      expect(JSON.parse(ex.stdout).OAUTH2_ACCESS_TOKEN).toBe(token)
    }
  })

  it('a wrong client secret is refused by the server (401 invalid_client): exit 4, nothing stored', async () => {
    const env = fileEnv()
    const r = await runCli(
      ['login', 'oauth2', '--token-url', op.tokenUrl, '--client-id', OIDC_CLIENTS.basic.client_id, '--client-secret-stdin', '--resource', API_RESOURCE],
      {
        env,
        input: 'CANARY-wrong-secret',
      },
    )
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('invalid_client')
    expect(r.stderr).not.toContain('CANARY')
    expect((await runCli(['status', 'oauth2'], { env })).code).toBe(4)
  })

  it('refresh-token rotation (both auth methods): login stores the rotated token; 10 parallel stale `token` runs (Basic auth) make exactly 1 refresh, and the grant survives', async () => {
    // The race runs with Basic auth; with body auth one stale `token` shows the method. Both go
    // through one renewal lock (the race itself is also run against the emulator above).
    for (const [method, client, parallel] of [
      ['basic', OIDC_CLIENTS.basic, 10],
      ['body', OIDC_CLIENTS.post, 1],
    ] as const) {
      const env = fileEnv()
      const rt = await op.refreshTokenFromCodeFlow(client) // through the provider's login and consent pages
      await issuingStaleTokens(op, () => ok(loginAtOp(env, client, method, ['--refresh-token-stdin'], `${client.client_secret}\n${rt}\n`)))
      const before = op.requests.length
      const runs = await Promise.all(Array.from({ length: parallel }, () => runCli(['token', 'oauth2'], { env })))
      expect(
        runs.map((r) => r.code),
        runs.map((r) => r.stderr).join('\n'),
      ).toEqual(Array(parallel).fill(0))
      expect(op.requests.slice(before)).toEqual([{ grant: 'refresh_token', auth: method, ok: true }])
      expect(new Set(runs.map((r) => r.stdout)).size).toBe(1)
      expect(decodeJwtClaims(runs[0]?.stdout.trim() ?? '')).toMatchObject({ sub: 'user-42', aud: API_RESOURCE, client_id: client.client_id })
      // oidc-provider revokes the whole grant when a used refresh token comes back: this working
      // proves only the newest one was ever sent, and that it was stored.
      const again = await ok(runCli(['token', 'oauth2', '--force-refresh'], { env }))
      expect(again.stdout).not.toBe(runs[0]?.stdout)
      expect(op.requests.slice(before + 1)).toEqual([{ grant: 'refresh_token', auth: method, ok: true }])
    }
  })
})
