import { createHash, randomBytes } from 'node:crypto'
import { startEmulator, type Emulator } from './_server.js'

interface Grant {
  id: number
  clientId: string
  userId: number
  scopes: string[]
  access: string
  refresh: string
  accessExp: number
  revoked: boolean
}

export interface LucidEmulator extends Emulator {
  apiUrl: string
  authorizeUrl: string
  clients: Map<string, { secret: string; redirectUris: string[] }>
  apiKeys: Map<string, number>
  tokenTtlSeconds: number
  /** The authorize endpoint's answer: approve (redirect with a code) or deny (error=access_denied). */
  consent: 'approve' | 'deny'
  /** Refuse authorization requests without PKCE (code_challenge_method=S256). */
  requirePkce: boolean
  refreshRequests(): number
  /** True when `token` is the current access token of a live grant, or a known API key. */
  isValid(token: string): boolean
  grants: Grant[]
}

const USERS: Record<number, { id: number; username: string; email: string; fullName: string; accountId: number }> = {
  341: { id: 341, username: 'johndoe', email: 'john-doe@example.com', fullName: 'John Doe', accountId: 100 },
}

const tok = () => `oauth2-${randomBytes(24).toString('base64url')}`

/**
 * Lucid (PROVIDERS.md §4): the browser authorize step (auto-consent, redirect with code and
 * state), code exchange and refresh with JSON bodies, refresh-token rotation that kills the
 * old access and refresh tokens, introspect and revoke (form bodies), 403 for bad client
 * credentials, and /users/me/profile needing Lucid-Api-Version: 1.
 */
export async function startLucid(
  opts: { clients?: Record<string, { secret: string; redirectUris?: string[] }>; requirePkce?: boolean } = {},
): Promise<LucidEmulator> {
  const clients = new Map(
    Object.entries(opts.clients ?? { 'lucid-client': { secret: 'lucid-secret-0123456789' } }).map(([k, v]) => [
      k,
      { secret: v.secret, redirectUris: v.redirectUris ?? [] },
    ]),
  )
  const apiKeys = new Map<string, number>([['lucid-api-key-0123456789abcdef', 341]])
  const codes = new Map<string, { clientId: string; redirectUri: string; scopes: string[]; exp: number; challenge?: string }>()
  const grants: Grant[] = []
  const state = { ttl: 3600, consent: 'approve' as 'approve' | 'deny', requirePkce: opts.requirePkce ?? false }

  const issue = (g: Grant) => {
    g.access = tok()
    g.refresh = tok()
    g.accessExp = Date.now() + state.ttl * 1000
    return {
      access_token: g.access,
      refresh_token: g.scopes.includes('offline_access') ? g.refresh : undefined,
      user_id: g.userId,
      client_id: g.clientId,
      expires_in: state.ttl,
      expires: g.accessExp,
      scopes: g.scopes,
      token_type: 'bearer',
    }
  }
  const userOfBearer = (auth: string | undefined): number | undefined => {
    const t = (auth ?? '').replace(/^Bearer /, '')
    if (apiKeys.has(t)) return apiKeys.get(t)
    const g = grants.find((x) => x.access === t && !x.revoked && x.accessExp > Date.now())
    return g?.userId
  }

  const emu = await startEmulator((req, res) => {
    if (req.path === '/oauth2/authorize' && req.method === 'GET') {
      const q = req.query
      const client = clients.get(q.get('client_id') ?? '')
      const redirect = q.get('redirect_uri') ?? ''
      if (!client) return res.text(400, 'unknown client')
      // Lucid's own redirect page lives on the authorize host: lucid.app, or this emulator.
      const ownPage = new RegExp(`^(https://lucid\\.app|${emu.url.replace(/\./g, '\\.')})/oauth2/clients/.+/redirect$`)
      const registered =
        client.redirectUris.length === 0
          ? /^http:\/\/localhost:\d+\/callback$/.test(redirect) || ownPage.test(redirect)
          : client.redirectUris.includes(redirect)
      if (!registered) return res.text(400, 'redirect_uri is not registered for this client')
      const challenge = q.get('code_challenge') ?? undefined
      if (challenge !== undefined && q.get('code_challenge_method') !== 'S256') return res.text(400, 'code_challenge_method must be S256')
      if (state.requirePkce && challenge === undefined) return res.text(400, 'PKCE is required: code_challenge and code_challenge_method=S256')
      const target = new URL(redirect)
      if (q.get('state')) target.searchParams.set('state', q.get('state') as string)
      if (state.consent === 'deny') {
        target.searchParams.set('error', 'access_denied')
        target.searchParams.set('error_description', `The user denied the request${emu.hostile.text ?? ''}`)
      } else {
        const code = randomBytes(16).toString('hex')
        codes.set(code, {
          clientId: q.get('client_id') as string,
          redirectUri: redirect,
          scopes: (q.get('scope') ?? '').split(' ').filter(Boolean),
          exp: Date.now() + 5 * 60_000,
          ...(challenge ? { challenge } : {}),
        })
        target.searchParams.set('code', code)
      }
      return res.redirect(target.toString())
    }
    if (req.path === '/oauth2/token' && req.method === 'POST') {
      let b: Record<string, string>
      try {
        b = JSON.parse(req.body)
      } catch {
        return res.json(400, { error: 'invalid_request', error_description: 'JSON body required' })
      }
      const client = clients.get(b.client_id ?? '')
      if (!client || client.secret !== b.client_secret) return res.json(403, { error: 'invalid_client', error_description: 'Client authentication failed' })
      if (b.grant_type === 'authorization_code') {
        const c = codes.get(b.code ?? '')
        codes.delete(b.code ?? '')
        if (!c || c.exp < Date.now() || c.clientId !== b.client_id || c.redirectUri !== b.redirect_uri)
          return res.json(400, { error: 'invalid_grant', error_description: 'code is invalid, expired or already used' })
        if (
          c.challenge !== undefined &&
          createHash('sha256')
            .update(b.code_verifier ?? '')
            .digest('base64url') !== c.challenge
        ) {
          return res.json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed: code_verifier does not match code_challenge' })
        }
        const g: Grant = { id: grants.length + 1, clientId: c.clientId, userId: 341, scopes: c.scopes, access: '', refresh: '', accessExp: 0, revoked: false }
        grants.push(g)
        return res.json(200, issue(g))
      }
      if (b.grant_type === 'refresh_token') {
        const g = grants.find((x) => x.refresh === b.refresh_token && x.clientId === b.client_id && !x.revoked)
        if (!g) return res.json(400, { error: 'invalid_grant', error_description: 'refresh token is invalid' })
        return res.json(200, issue(g)) // rotation: the old access and refresh tokens are replaced (dead)
      }
      return res.json(400, { error: 'unsupported_grant_type' })
    }
    if ((req.path === '/oauth2/token/introspect' || req.path === '/oauth2/token/revoke') && req.method === 'POST') {
      const f = new URLSearchParams(req.body)
      const client = clients.get(f.get('client_id') ?? '')
      if (!client || client.secret !== f.get('client_secret')) return res.json(403, { error: 'invalid_client' })
      const t = f.get('token')
      const g = grants.find((x) => (x.access === t || x.refresh === t) && x.clientId === f.get('client_id'))
      if (req.path.endsWith('/revoke')) {
        if (g) g.revoked = true
        return res.empty(200)
      }
      if (!g || g.revoked || (g.access === t && g.accessExp < Date.now())) return res.json(200, { active: false })
      return res.json(200, {
        active: true,
        client_id: g.clientId,
        expires_in: Math.round((g.accessExp - Date.now()) / 1000),
        expires: g.accessExp,
        scope: g.scopes.join(' '),
        token_type: 'bearer',
        user_id: g.userId,
      })
    }
    const page = /^\/oauth2\/clients\/([^/]+)\/redirect$/.exec(req.path)
    if (page && req.method === 'GET') return res.text(200, `Copy this code into authctl: ${req.query.get('code') ?? ''}`)
    if (req.path === '/users/me/profile' && req.method === 'GET') {
      if (req.headers['lucid-api-version'] !== '1') return res.json(400, { error: 'missing Lucid-Api-Version header' })
      const uid = userOfBearer(req.headers.authorization)
      if (uid === undefined) return res.json(401, { error: 'invalid_token', error_description: 'The access token is invalid or expired' })
      return res.json(200, { ...USERS[uid], avatar: { type: 'url', link: 'https://example.com/a.png' } })
    }
    return res.json(404, { error: 'not_found' })
  })
  const out = Object.assign(emu, {
    apiUrl: emu.url,
    authorizeUrl: `${emu.url}/oauth2/authorize`,
    clients,
    apiKeys,
    grants,
    tokenTtlSeconds: 0,
    consent: 'approve' as const,
    requirePkce: false,
    refreshRequests: () =>
      emu.requests.filter((r) => r.path === '/oauth2/token' && r.body.includes('"refresh_token"') && r.body.includes('"grant_type":"refresh_token"')).length,
    isValid: (t: string) => apiKeys.has(t) || grants.some((g) => g.access === t && !g.revoked && g.accessExp > Date.now()),
  })
  Object.defineProperty(out, 'tokenTtlSeconds', {
    get: () => state.ttl,
    set: (v: number) => {
      state.ttl = v
    },
  })
  Object.defineProperty(out, 'consent', {
    get: () => state.consent,
    set: (v: 'approve' | 'deny') => {
      state.consent = v
    },
  })
  Object.defineProperty(out, 'requirePkce', {
    get: () => state.requirePkce,
    set: (v: boolean) => {
      state.requirePkce = v
    },
  })
  return out
}
