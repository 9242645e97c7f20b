import { describe, expect, it } from 'vitest'
import { inProcessCli } from '../../helpers/run.js'
import { identityOf } from '../../../src/providers/oauth2/identity.js'
import { checkEnvPrefix, checkTokenUrl, credentialFromEnv, settingsOf, type OAuth2Settings } from '../../../src/providers/oauth2/settings.js'
import { basicCredentials, buildTokenRequest, normaliseTokenType, tokenSetFrom } from '../../../src/providers/oauth2/token-request.js'
import { makeJwt } from '../../emulators/_server.js'

const base: OAuth2Settings = {
  tokenUrl: 'https://as.example.com/token',
  clientId: 'a b:c',
  scopes: ['x', 'y'],
  auth: 'basic',
  envPrefix: 'OAUTH2',
  grant: 'client_credentials',
}
const url = new URL(base.tokenUrl)

describe('oauth2 token request (pure)', () => {
  it('Basic form-urlencodes id and secret before base64 (RFC 6749 §2.3.1)', () => {
    expect(Buffer.from(basicCredentials('a b:c', 's+%/é'), 'base64').toString()).toBe('a+b%3Ac:s%2B%25%2F%C3%A9')
    const r = buildTokenRequest({ ...base, audience: 'aud', resource: 'urn:r' }, { clientSecret: 's' }, ['x', 'y'], url)
    expect(r.headers?.authorization).toMatch(/^Basic /)
    expect(Object.fromEntries(new URLSearchParams(r.body))).toEqual({ grant_type: 'client_credentials', scope: 'x y', audience: 'aud', resource: 'urn:r' })
  })

  it('body auth sends client_id and client_secret as fields; a public client sends client_id only', () => {
    const body = buildTokenRequest({ ...base, auth: 'body' }, { clientSecret: 's' }, [], url)
    expect(body.headers?.authorization).toBeUndefined()
    expect(Object.fromEntries(new URLSearchParams(body.body))).toEqual({ grant_type: 'client_credentials', client_id: 'a b:c', client_secret: 's' })
    const pub = buildTokenRequest({ ...base, grant: 'refresh_token' }, { refreshToken: 'rt' }, [], url)
    expect(Object.fromEntries(new URLSearchParams(pub.body))).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt', client_id: 'a b:c' })
  })

  it('token_type: bearer → Bearer; other schemes kept; anything unfit for a header → Bearer', () => {
    expect(normaliseTokenType('bearer')).toBe('Bearer')
    expect(normaliseTokenType('DPoP')).toBe('DPoP')
    expect(normaliseTokenType('Bearer\r\nX-Evil: 1')).toBe('Bearer')
    expect(normaliseTokenType(undefined)).toBe('Bearer')
  })

  it('expiry: expires_in, else the JWT exp, else one hour; insane values ignored', () => {
    const now = 1_000_000_000_000
    const jwt = makeJwt({ exp: now / 1000 + 600 })
    expect(tokenSetFrom({ access_token: 'a', expires_in: 60 }, [], now).expiresAt).toBe(now + 60_000)
    expect(tokenSetFrom({ access_token: jwt }, [], now).expiresAt).toBe(now + 600_000)
    expect(tokenSetFrom({ access_token: 'a' }, ['s'], now)).toMatchObject({ expiresAt: now + 3600_000, scopes: ['s'] })
  })
})

describe('oauth2 settings and identity', () => {
  it('env prefixes are shell variable names', () => {
    expect(checkEnvPrefix('MY_API2')).toBe('MY_API2')
    for (const bad of ['', '1X', 'MY-API', 'A B', 'X'.repeat(65)]) expect(() => checkEnvPrefix(bad)).toThrow(/--env-prefix/)
  })

  it('an environment credential binds the endpoint and parameters into its cache key material', () => {
    const env = { OAUTH2_TOKEN_URL: base.tokenUrl, OAUTH2_CLIENT_ID: 'id', OAUTH2_CLIENT_SECRET: 's', OAUTH2_SCOPE: 'x  y' }
    const a = credentialFromEnv(env)
    const b = credentialFromEnv({ ...env, OAUTH2_TOKEN_URL: 'https://other.example.com/token' })
    expect(a && settingsOf(a).scopes).toEqual(['x', 'y'])
    expect(a?.secret.binding).not.toBe(b?.secret.binding)
    expect(credentialFromEnv({ ...env, OAUTH2_CLIENT_SECRET: '' })).toBeUndefined()
  })

  it('whoami adds sub/iss/aud of a JWT, with control characters removed', () => {
    const jwt = makeJwt({ sub: 'svc\u001b[31m', iss: 'https://as', aud: ['a', 'b'], exp: 2_000_000_000 })
    expect(identityOf(base, { accessToken: jwt, scopes: ['x'] })).toMatchObject({
      client_id: 'a b:c',
      jwt: true,
      sub: 'svc',
      iss: 'https://as',
      aud: ['a', 'b'],
    })
    expect(identityOf(base, { accessToken: 'opaque', scopes: [] })).toMatchObject({ jwt: false })
  })
})

describe('oauth2 token URL', () => {
  it('keeps no secret: userinfo and secret-looking query parameters are exit 2, naming the parameter, never its value', () => {
    expect(checkTokenUrl('https://as.example.com/token?api-version=2', '--token-url').search).toBe('?api-version=2')
    for (const raw of ['https://fn.example.net/api/token?code=CANARY-fn-key', 'https://as.example.com/token?x=1&api_key=CANARY-k']) {
      let err: unknown
      try {
        checkTokenUrl(raw, 'OAUTH2_TOKEN_URL')
      } catch (e) {
        err = e
      }
      expect(err).toMatchObject({ exitCode: 2 })
      expect(String((err as Error).message)).toMatch(/OAUTH2_TOKEN_URL must not carry a secret in its query \((code|api_key)=\)/)
      expect(JSON.stringify(err) + String((err as Error).message) + String((err as { hint?: string }).hint)).not.toContain('CANARY')
    }
  })

  it('an environment credential is bound to its client id too: two clients sharing a secret never share a cached token', () => {
    const env = { OAUTH2_TOKEN_URL: 'https://as.example.com/token', OAUTH2_CLIENT_SECRET: 'shared-secret' }
    const a = credentialFromEnv({ ...env, OAUTH2_CLIENT_ID: 'client-a' })
    const b = credentialFromEnv({ ...env, OAUTH2_CLIENT_ID: 'client-b' })
    expect(a?.secret.binding).toBeTruthy()
    expect(a?.secret.binding).not.toBe(b?.secret.binding)
  })
})

describe('oauth2 login at a terminal', () => {
  const { cli } = inProcessCli(() => ({}))
  it('a bad token URL typed at the prompt is named as such, not as OAUTH2_TOKEN_URL (which nobody set)', async () => {
    const r = await cli(['login', 'oauth2'], { tty: true, env: { NO_COLOR: '1' }, answers: { 'token URL': 'http://auth.example.com/token' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^authctl: the token URL must be an https:\/\/ URL/)
    expect(r.stderr).toMatch(/hint: give the token URL again/)
    expect(r.stderr).not.toContain('OAUTH2_TOKEN_URL')
  })
})
