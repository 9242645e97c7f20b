import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

/** The resource server the certified provider issues JWT access tokens for (RFC 8707). */
export const API_RESOURCE = 'urn:authctl:test-api'
export const API_SCOPES = 'api:read api:write'
const REDIRECT_URI = 'http://127.0.0.1/cb'

/**
 * The browser's part of an authorization-code flow: GET /auth, then the provider's login and
 * consent pages (each answered with its form's `prompt`), following redirects with the
 * provider's cookies, until the redirect to REDIRECT_URI brings the code.
 */
async function authorize(issuer: string, clientId: string, accountId: string, challenge: string): Promise<string> {
  const jar = new Map<string, string>()
  const go = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie } })
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0] ?? ''
      jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1))
    }
    return res
  }
  const params = new URLSearchParams({
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid offline_access',
    prompt: 'consent',
    resource: API_RESOURCE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'),
  })
  let res = await go(`${issuer}/auth?${params}`)
  for (let hop = 0; hop < 12; hop++) {
    const location = res.headers.get('location')
    if (!location) throw new Error(`authorization stopped at HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`)
    const url = new URL(location, issuer)
    if (url.href.startsWith(REDIRECT_URI)) {
      const code = url.searchParams.get('code')
      if (!code) throw new Error(`authorization failed: ${url.search}`)
      return code
    }
    if (!url.pathname.startsWith('/interaction/')) {
      res = await go(url.href)
      continue
    }
    const page = await (await go(url.href)).text()
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1]
    if (!prompt) throw new Error(`no form on ${url.pathname}: ${page.slice(0, 300)}`)
    const form = new URLSearchParams({ prompt, login: accountId, password: 'any' })
    res = await go(url.href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() })
  }
  throw new Error('authorization did not reach the redirect URI')
}

export interface RealOidcProvider {
  issuer: string
  tokenUrl: string
  provider: Provider
  /** Token endpoint requests that got as far as a grant (success or error), with the client's auth method. */
  requests: Array<{ grant: string | undefined; auth: 'basic' | 'body' | 'none'; ok: boolean }>
  /**
   * A refresh token from a real authorization-code flow (PKCE, offline_access, consent) through
   * the provider's own login and consent pages, driven as a browser would, then exchanged at the
   * token endpoint by the client: what an app hands a user who then logs authctl in with it.
   */
  refreshTokenFromCodeFlow(client: { client_id: string; client_secret: string }, accountId?: string): Promise<string>
  tokenTtlSeconds: number
  close(): Promise<void>
}

export const OIDC_CLIENTS = {
  basic: { client_id: 'basic-client', client_secret: 'basic-secret-0123456789abcdef', token_endpoint_auth_method: 'client_secret_basic' },
  post: { client_id: 'post-client', client_secret: 'post-secret-0123456789abcdef', token_endpoint_auth_method: 'client_secret_post' },
} as const

/**
 * node-oidc-provider (OpenID Certified), in this process on 127.0.0.1 port 0 over http (allowed
 * for a loopback issuer outside production): client credentials with a resource indicator give
 * a JWT access token; refresh tokens rotate on every use (rotateRefreshToken: true), and a used
 * one presented again revokes the whole grant.
 */
export async function startOidcProvider(): Promise<RealOidcProvider> {
  const server: Server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const common = {
    grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    scope: `openid offline_access ${API_SCOPES}`,
  }
  const state = { ttl: 3600 }
  const provider = new Provider(issuer, {
    ttl: { AccessToken: () => state.ttl, ClientCredentials: () => state.ttl, IdToken: 3600, Grant: 86_400, RefreshToken: 86_400 },
    clients: [
      { ...common, ...OIDC_CLIENTS.basic },
      { ...common, ...OIDC_CLIENTS.post },
    ],
    scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
    rotateRefreshToken: true,
    features: {
      clientCredentials: { enabled: true },
      // The provider's own login and consent pages (any login), driven by refreshTokenFromCodeFlow.
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string | string[]) => oneOf ?? API_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => {
          if (resource !== API_RESOURCE) throw new Provider.errors.InvalidTarget()
          return { scope: API_SCOPES, audience: API_RESOURCE, accessTokenTTL: state.ttl, accessTokenFormat: 'jwt' }
        },
      },
    },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  })
  const requests: RealOidcProvider['requests'] = []
  // What reached the token endpoint, from the provider's own events (the body stays its own).
  const record = (ctx: { headers?: Record<string, string | undefined>; oidc?: { params?: { grant_type?: string; client_secret?: string } } }, ok: boolean) => {
    // How the client authenticated on the wire (oidc-provider accepts Basic and post interchangeably for a secret client).
    const basic = ctx.headers?.authorization?.startsWith('Basic ')
    requests.push({ grant: ctx.oidc?.params?.grant_type, auth: basic ? 'basic' : ctx.oidc?.params?.client_secret ? 'body' : 'none', ok })
  }
  provider.on('grant.success', (ctx: Parameters<typeof record>[0]) => record(ctx, true))
  provider.on('grant.error', (ctx: Parameters<typeof record>[0]) => record(ctx, false))
  server.on('request', provider.callback())
  const out = {
    issuer,
    tokenUrl: `${issuer}/token`,
    provider,
    requests,
    async refreshTokenFromCodeFlow(client: { client_id: string; client_secret: string }, accountId = 'user-42'): Promise<string> {
      const verifier = randomBytes(32).toString('base64url')
      const code = await authorize(issuer, client.client_id, accountId, createHash('sha256').update(verifier).digest('base64url'))
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
      })
      const body = (await res.json()) as { refresh_token?: string; error?: string }
      if (!body.refresh_token) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(body)}`)
      return body.refresh_token
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
    tokenTtlSeconds: 0,
  }
  // Access tokens issued from now on live this long (issuingStaleTokens sets 2 s).
  Object.defineProperty(out, 'tokenTtlSeconds', {
    get: () => state.ttl,
    set: (v: number) => {
      state.ttl = v
    },
  })
  return out
}
