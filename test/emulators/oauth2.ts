import { randomBytes } from 'node:crypto'
import { makeJwt, startEmulator, type Emulator, type Reply, type SeenRequest } from './_server.js'

/** How a registered client authenticates (RFC 6749 §2.3.1; `none` is a public client). */
export type ClientAuth = 'basic' | 'body' | 'none'

export interface OAuth2Client {
  secret?: string
  auth: ClientAuth
  /** Scopes the client may ask for; undefined = any. */
  scopes?: string[]
}

/** One token the emulator issued, with what was asked for (for assertions). */
export interface Issued {
  accessToken: string
  clientId: string
  grant: string
  scopes: string[]
  audience?: string
  resource?: string
  auth: ClientAuth
  exp: number
}

export interface OAuth2Emulator extends Emulator {
  tokenUrl: string
  clients: Map<string, OAuth2Client>
  issued: Issued[]
  tokenTtlSeconds: number
  /** Issue JWT access tokens (sub, iss, aud, scope, exp) instead of opaque ones. */
  jwt: boolean
  /** Rotate refresh tokens: every refresh answers a new one and kills the one used. */
  rotate: boolean
  /** The `token_type` answered (`bearer`, lower-case, as many servers send it). */
  tokenType: string
  /** A refresh token for `clientId` (what an authorization-code flow would have produced). */
  mintRefreshToken(clientId: string, scopes?: string[]): string
  /** Live refresh tokens (not yet used or revoked). */
  liveRefreshTokens(): string[]
  tokenRequests(grant?: string): number
  isValid(accessToken: string): boolean
}

const tok = (p: string) => `${p}-${randomBytes(18).toString('base64url')}`

/** application/x-www-form-urlencoded decoding of one Basic half (RFC 6749 §2.3.1). */
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))

interface ClientAuthResult {
  clientId: string
  auth: ClientAuth
  error?: { status: number; body: Record<string, string>; headers?: Record<string, string> }
}

/** Who the client is, and how it authenticated; refused as invalid_client (401) or invalid_request (400). */
function authenticate(req: SeenRequest, form: URLSearchParams, clients: Map<string, OAuth2Client>): ClientAuthResult {
  const header = req.headers.authorization
  const challenge = { 'www-authenticate': 'Basic realm="oauth2-emulator"' }
  const refuse = (d: string, clientId = ''): ClientAuthResult => ({
    clientId,
    auth: 'none',
    error: { status: 401, body: { error: 'invalid_client', error_description: d }, headers: challenge },
  })
  if (header?.startsWith('Basic ')) {
    if (form.has('client_secret'))
      return {
        clientId: '',
        auth: 'none',
        error: { status: 400, body: { error: 'invalid_request', error_description: 'more than one client authentication method' } },
      }
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return refuse('malformed Basic credentials')
    const [id, secret] = [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))]
    const c = clients.get(id)
    if (!c || c.secret !== secret) return refuse('Client authentication failed', id)
    if (c.auth !== 'basic') return refuse('this client must use client_secret_post', id)
    return { clientId: id, auth: 'basic' }
  }
  const id = form.get('client_id') ?? ''
  const c = clients.get(id)
  if (!c) return refuse('unknown client', id)
  if (c.auth === 'none') return form.has('client_secret') ? refuse('public client sent a secret', id) : { clientId: id, auth: 'none' }
  if (c.secret !== form.get('client_secret')) return refuse('Client authentication failed', id)
  if (c.auth !== 'body') return refuse('this client must use client_secret_basic', id)
  return { clientId: id, auth: 'body' }
}

/**
 * A generic RFC 6749 token endpoint (POST /oauth2/token, form bodies): client_credentials and
 * refresh_token grants; Basic and body client authentication, enforced per client; scope,
 * audience and resource echoed into the token; rotating refresh tokens (a used one is
 * invalid_grant); request counting and the shared fault and hostile modes.
 */
export async function startOAuth2(opts: { clients?: Record<string, OAuth2Client> } = {}): Promise<OAuth2Emulator> {
  const clients = new Map(Object.entries(opts.clients ?? { 'cc-client': { secret: 'cc-secret-0123456789', auth: 'basic' as const } }))
  const refreshTokens = new Map<string, { clientId: string; scopes: string[]; live: boolean }>()
  const issued: Issued[] = []
  const state = { ttl: 3600, jwt: false, rotate: true, tokenType: 'bearer' }
  let emu: Emulator

  const answer = (res: Reply, a: ClientAuthResult, grant: string, scopes: string[], form: URLSearchParams, refresh?: string) => {
    const exp = Date.now() + state.ttl * 1000
    const audience = form.get('audience') ?? undefined
    const resource = form.get('resource') ?? undefined
    const aud = audience ?? resource
    const accessToken = state.jwt
      ? makeJwt({
          sub: a.clientId,
          iss: emu.url,
          ...(aud ? { aud } : {}),
          scope: scopes.join(' '),
          client_id: a.clientId,
          exp: emu.hostile.jwtExp ?? Math.floor(exp / 1000),
          iat: Math.floor(Date.now() / 1000),
          jti: randomBytes(8).toString('hex'),
        })
      : tok('at')
    issued.push({ accessToken, clientId: a.clientId, grant, scopes, ...(audience ? { audience } : {}), ...(resource ? { resource } : {}), auth: a.auth, exp })
    res.json(200, {
      access_token: accessToken,
      token_type: state.tokenType,
      expires_in: state.ttl,
      ...(scopes.length ? { scope: scopes.join(' ') } : {}),
      ...(refresh ? { refresh_token: refresh } : {}),
    })
  }

  emu = await startEmulator((req, res) => {
    if (req.path !== '/oauth2/token') return res.json(404, { error: 'not_found' })
    if (req.method !== 'POST') return res.json(405, { error: 'invalid_request', error_description: 'POST only' })
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return res.json(400, { error: 'invalid_request', error_description: 'form body required' })
    const form = new URLSearchParams(req.body)
    const a = authenticate(req, form, clients)
    if (a.error) return res.json(a.error.status, a.error.body, a.error.headers)
    const client = clients.get(a.clientId) as OAuth2Client
    const asked = (form.get('scope') ?? '').split(' ').filter(Boolean)
    const refused = client.scopes ? asked.filter((s) => !client.scopes?.includes(s)) : []
    if (refused.length) return res.json(400, { error: 'invalid_scope', error_description: `scope not allowed: ${refused.join(' ')}` })
    const grant = form.get('grant_type')
    if (grant === 'client_credentials') {
      if (a.auth === 'none') return res.json(400, { error: 'unauthorized_client', error_description: 'public clients cannot use client_credentials' })
      return answer(res, a, grant, asked.length ? asked : (client.scopes ?? []), form)
    }
    if (grant === 'refresh_token') {
      const rt = refreshTokens.get(form.get('refresh_token') ?? '')
      if (!rt?.live || rt.clientId !== a.clientId)
        return res.json(400, { error: 'invalid_grant', error_description: 'refresh token is invalid, expired or already used' })
      const narrower = asked.filter((s) => !rt.scopes.includes(s))
      if (narrower.length) return res.json(400, { error: 'invalid_scope', error_description: `not in the grant: ${narrower.join(' ')}` })
      let next: string | undefined
      if (state.rotate) {
        rt.live = false
        next = tok('rt')
        refreshTokens.set(next, { clientId: a.clientId, scopes: rt.scopes, live: true })
      }
      return answer(res, a, grant, asked.length ? asked : rt.scopes, form, next)
    }
    return res.json(400, { error: 'unsupported_grant_type', error_description: `grant_type ${grant ?? '(none)'} is not supported` })
  })
  const out = Object.assign(emu, {
    tokenUrl: `${emu.url}/oauth2/token`,
    clients,
    issued,
    tokenTtlSeconds: 0,
    jwt: false,
    rotate: true,
    tokenType: 'bearer',
    mintRefreshToken: (clientId: string, scopes: string[] = []) => {
      const t = tok('rt')
      refreshTokens.set(t, { clientId, scopes, live: true })
      return t
    },
    liveRefreshTokens: () => [...refreshTokens].filter(([, v]) => v.live).map(([k]) => k),
    tokenRequests: (grant?: string) =>
      emu.requests.filter((r) => r.path === '/oauth2/token' && (!grant || new URLSearchParams(r.body).get('grant_type') === grant)).length,
    isValid: (t: string) => issued.some((i) => i.accessToken === t && i.exp > Date.now()),
  })
  for (const key of ['tokenTtlSeconds', 'jwt', 'rotate', 'tokenType'] as const) {
    const field = key === 'tokenTtlSeconds' ? 'ttl' : key
    Object.defineProperty(out, key, {
      get: () => state[field],
      set: (v: never) => {
        state[field] = v
      },
    })
  }
  return out as OAuth2Emulator
}
