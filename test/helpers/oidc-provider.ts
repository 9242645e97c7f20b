import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider from 'oidc-provider'

/** The resource server the certified provider issues JWT access tokens for (RFC 8707). */
export const API_RESOURCE = 'urn:authctl:test-api'
export const API_SCOPES = 'api:read api:write'

export interface RealOidcProvider {
  issuer: string
  tokenUrl: string
  provider: Provider
  /** Token endpoint requests that got as far as a grant (success or error), with the client's auth method. */
  requests: Array<{ grant: string | undefined; auth: 'basic' | 'body' | 'none'; ok: boolean }>
  /** A refresh token for `clientId`, as an authorization-code flow with offline_access would leave it. */
  mintRefreshToken(clientId: string, accountId?: string): Promise<string>
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
    redirect_uris: ['http://127.0.0.1/cb'],
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
      devInteractions: { enabled: false },
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
    async mintRefreshToken(clientId: string, accountId = 'user-42'): Promise<string> {
      const client = await provider.Client.find(clientId)
      if (!client) throw new Error(`no client ${clientId}`)
      const grant = new provider.Grant({ accountId, clientId })
      grant.addOIDCScope('openid offline_access')
      grant.addResourceScope(API_RESOURCE, API_SCOPES)
      const grantId = await grant.save()
      const rt = new provider.RefreshToken({ client, accountId, grantId, scope: `openid offline_access`, resource: API_RESOURCE, gty: 'authorization_code' })
      return rt.save()
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
