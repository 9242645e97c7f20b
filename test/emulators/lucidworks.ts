import { randomUUID } from 'node:crypto'
import { makeJwt, startEmulator, type Emulator } from './_server.js'

export const LW_AUTH_SERVER = 'ausao8uveaPmyhv0v357'
export const LW_SCOPES = ['machinelearning.predict', 'machinelearning.model', 'commercestudio.rules', 'commercestudio.rewrites']

export interface LucidworksOptions {
  /** client id → secret */
  clients?: Record<string, string>
  tokenTtlSeconds?: number
}

export interface LucidworksEmulator extends Emulator {
  tokenUrl: string
  clients: Map<string, string>
  /** Lifetime of tokens issued from now on. */
  tokenTtlSeconds: number
  /** True when `token` is the newest for its client+scope and not expired. */
  isValid(token: string): boolean
  tokenRequests(): number
  /** Expires every token issued so far (as if an hour went by). */
  expireAll(): void
}

/**
 * Lucidworks identity (Okta custom authorization server) as PROVIDERS.md §1 describes it:
 * client_credentials only, scope and grant_type as query parameters, Basic auth, and only the
 * newest token per (client, scope) is valid — a new one kills the previous.
 */
export async function startLucidworks(opts: LucidworksOptions = {}): Promise<LucidworksEmulator> {
  const clients = new Map(Object.entries(opts.clients ?? { 'lw-client': 'lw-secret-0123456789' }))
  const latest = new Map<string, { token: string; exp: number }>() // `${client}\0${scope}` → newest
  const issued = new Map<string, { client: string; scope: string; exp: number }>()
  const state = { tokenTtlSeconds: opts.tokenTtlSeconds ?? 3600 }

  const isValid = (token: string): boolean => {
    const t = issued.get(token)
    if (!t || t.exp <= Date.now()) return false
    return latest.get(`${t.client}\0${t.scope}`)?.token === token
  }

  const emu = await startEmulator((req, res) => {
    const tokenPath = `/oauth2/${LW_AUTH_SERVER}/v1/token`
    if (req.path === tokenPath && req.method === 'POST') {
      const [scheme, b64] = (req.headers.authorization ?? '').split(' ')
      const decoded = scheme === 'Basic' && b64 ? Buffer.from(b64, 'base64').toString('utf8') : ''
      const sep = decoded.indexOf(':')
      const id = decoded.slice(0, sep)
      const secret = decoded.slice(sep + 1)
      if (sep < 0 || clients.get(id) !== secret) {
        return res.json(401, { error: 'invalid_client', error_description: 'Client authentication failed.' })
      }
      if (req.query.get('grant_type') !== 'client_credentials') {
        return res.json(400, { error: 'unsupported_grant_type', error_description: 'grant_type must be a query parameter: client_credentials' })
      }
      const scope = req.query.get('scope')
      if (!scope) return res.json(400, { error: 'invalid_request', error_description: 'scope query parameter is required' })
      const scopes = scope.split(' ')
      if (!scopes.every((s) => LW_SCOPES.includes(s))) {
        return res.json(400, { error: 'invalid_scope', error_description: 'One or more scopes are not configured for the authorization server resource.' })
      }
      const now = Date.now()
      const exp = now + state.tokenTtlSeconds * 1000
      const token = makeJwt({
        ver: 1,
        jti: `AT.${randomUUID()}`,
        iss: `https://identity.lucidworks.com/oauth2/${LW_AUTH_SERVER}`,
        aud: 'https://api.lucidworks.com',
        iat: Math.floor(now / 1000),
        exp: emu.hostile.jwtExp ?? Math.floor(exp / 1000),
        cid: id,
        scp: scopes,
        sub: id,
      })
      const key = `${id}\0${scopes.slice().sort().join(' ')}`
      latest.set(key, { token, exp })
      issued.set(token, { client: id, scope: scopes.slice().sort().join(' '), exp })
      return res.json(200, { token_type: 'Bearer', expires_in: state.tokenTtlSeconds, access_token: token, scope })
    }
    // A protected API call, so tests can check a token still works.
    if (req.path.startsWith('/ai/') || req.path.startsWith('/customers/')) {
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      if (!isValid(bearer)) return res.json(401, { error: 'Unauthorized' })
      return res.json(200, { predictions: [{ response: 'ok' }] })
    }
    return res.json(404, { error: 'not_found' })
  })

  const out = Object.assign(emu, {
    tokenUrl: `${emu.url}/oauth2/${LW_AUTH_SERVER}/v1/token`,
    clients,
    tokenTtlSeconds: 0,
    isValid,
    tokenRequests: () => emu.count('/v1/token', 'POST'),
    expireAll() {
      for (const t of issued.values()) t.exp = 0
    },
  })
  // An accessor, not a copied value (Object.assign would flatten a getter).
  Object.defineProperty(out, 'tokenTtlSeconds', {
    get: () => state.tokenTtlSeconds,
    set: (v: number) => {
      state.tokenTtlSeconds = v
    },
  })
  return out
}
