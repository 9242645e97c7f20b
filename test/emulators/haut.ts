import { randomBytes, randomUUID } from 'node:crypto'
import { makeJwt, startEmulator, type Emulator, type SeenRequest, type TlsOptions } from './_server.js'

export interface HautUser {
  id: number
  email: string
  password: string
  companyId: string
  mfa?: boolean
}

export interface HautEmulator extends Emulator {
  apiUrl: string
  users: Map<string, HautUser>
  /** private token id → record */
  privateTokens: Map<number, { id: number; name: string; expiration_time: string; data: string; email: string }>
  tokenTtlSeconds: number
  pageSize: number
  loginRequests(): number
  isValid(token: string): boolean
}

const err = (type: string, code: string, detail: string, attr: string | null = null) => ({ type, errors: [{ code, detail, attr, extra: null }] })

/**
 * Haut.ai SaaS API as PROVIDERS.md §5 describes it: Django-style paths that need their trailing
 * slash, login with `username` = email, ~1 h JWTs, private tokens (create/list with
 * page-number pagination and absolute `next` links/delete), drf-standardized-errors bodies,
 * 400 for MFA accounts, and company datasets as the token check.
 */
export async function startHaut(opts: { users?: HautUser[]; pageSize?: number; tls?: TlsOptions; linkBase?: () => string } = {}): Promise<HautEmulator> {
  const users = new Map((opts.users ?? [{ id: 7, email: 'lab@example.com', password: 'haut-password-123', companyId: randomUUID() }]).map((u) => [u.email, u]))
  const sessions = new Map<string, { email: string; exp: number }>()
  const privateTokens: HautEmulator['privateTokens'] = new Map()
  const state = { ttl: 3600, pageSize: opts.pageSize ?? 2, nextId: 1 }

  const userOf = (req: SeenRequest): HautUser | undefined => {
    const t = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    const s = sessions.get(t)
    if (s && s.exp > Date.now()) return users.get(s.email)
    for (const pt of privateTokens.values()) if (pt.data === t && Date.parse(pt.expiration_time) > Date.now()) return users.get(pt.email)
    return undefined
  }

  const emu = await startEmulator((req, res) => {
    const p = req.path
    if (!p.endsWith('/')) return res.text(404, '<h1>Not Found</h1>', 'text/html') // Django without APPEND_SLASH on POST
    if (p === '/api/v1/auth/login/' && req.method === 'POST') {
      let b: { username?: unknown; password?: unknown }
      try {
        b = JSON.parse(req.body)
      } catch {
        return res.json(400, err('validation_error', 'parse_error', 'JSON parse error'))
      }
      if (typeof b.username !== 'string') return res.json(400, err('validation_error', 'required', 'This field is required.', 'username'))
      const u = users.get(b.username)
      if (!u || u.password !== b.password)
        return res.json(401, err('client_error', 'authentication_failed', 'No active account found with the given credentials'))
      if (u.mfa) return res.json(400, err('validation_error', 'mfa_required', 'Multi-factor authentication is enabled for this user'))
      const now = Date.now()
      const exp = now + state.ttl * 1000
      const token = makeJwt({
        token_type: 'access',
        user_id: u.id,
        exp: emu.hostile.jwtExp ?? Math.floor(exp / 1000),
        iat: Math.floor(now / 1000),
        jti: randomUUID(),
      })
      sessions.set(token, { email: u.email, exp })
      return res.json(200, {
        id: u.id,
        email: u.email,
        username: u.email,
        company_id: u.companyId,
        token_access: token,
        access_token: token,
        refresh_token: makeJwt({ token_type: 'refresh', user_id: u.id }),
        is_verified: true,
        profile: {
          metadata: null,
          full_name: 'Lab User',
          kyc_enabled: true,
          terms_payment_accepted_at: null,
          terms_and_policy_accepted_at: true,
          feature_flags: {},
        },
      })
    }
    const u = userOf(req)
    if (!u) return res.json(401, err('client_error', 'invalid_token', 'The provided token is expired or invalid.'))
    const ds = /^\/api\/v1\/companies\/([^/]+)\/datasets\/$/.exec(p)
    if (ds && req.method === 'GET') {
      if (ds[1] !== u.companyId) return res.json(403, err('client_error', 'permission_denied', 'You do not have permission to perform this action.'))
      return res.json(200, { count: 1, next: null, previous: null, results: [{ id: randomUUID(), company_id: u.companyId, name: 'Default' }] })
    }
    if (p === '/api/v1/auth/private_tokens/' && req.method === 'POST') {
      const b = JSON.parse(req.body || '{}') as { name?: unknown; expiration_time?: unknown }
      if (typeof b.name !== 'string' || !b.name) return res.json(400, err('validation_error', 'required', 'This field is required.', 'name'))
      if (typeof b.expiration_time !== 'string' || Number.isNaN(Date.parse(b.expiration_time))) {
        return res.json(400, err('validation_error', 'required', 'This field is required.', 'expiration_time'))
      }
      const rec = { id: state.nextId++, name: b.name, expiration_time: b.expiration_time, data: `hpt_${randomBytes(24).toString('base64url')}`, email: u.email }
      privateTokens.set(rec.id, rec)
      return res.json(201, { id: rec.id, name: rec.name, expiration_time: rec.expiration_time, data: rec.data })
    }
    if (p === '/api/v1/auth/private_tokens/' && req.method === 'GET') {
      const all = [...privateTokens.values()].filter((t) => t.email === u.email)
      const page = Number(req.query.get('page') ?? '1')
      const size = Number(req.query.get('page_size') ?? state.pageSize)
      const slice = all.slice((page - 1) * size, page * size)
      // `linkBase`: the origin a TLS-terminating proxy's backend would put in its links.
      const link = (n: number) => `${opts.linkBase?.() ?? emu.url}/api/v1/auth/private_tokens/?page=${n}`
      return res.json(200, {
        count: all.length,
        next: page * size < all.length ? link(page + 1) : null,
        previous: page > 1 ? link(page - 1) : null,
        results: slice.map(({ id, name, expiration_time }) => ({ id, name, expiration_time })),
      })
    }
    const del = /^\/api\/v1\/auth\/private_tokens\/([^/]+)\/$/.exec(p)
    if (del && req.method === 'DELETE') {
      const id = Number(del[1])
      const rec = privateTokens.get(id)
      if (!rec || rec.email !== u.email) return res.json(404, err('client_error', 'not_found', 'Not found.'))
      privateTokens.delete(id)
      return res.empty(204)
    }
    return res.json(404, err('client_error', 'not_found', 'Not found.'))
  }, opts.tls)
  const out = Object.assign(emu, {
    apiUrl: `${emu.url}/api/v1`,
    users,
    privateTokens,
    tokenTtlSeconds: 0,
    pageSize: 0,
    loginRequests: () => emu.count('/api/v1/auth/login/', 'POST'),
    isValid: (t: string) => (sessions.get(t)?.exp ?? 0) > Date.now(),
  })
  Object.defineProperty(out, 'tokenTtlSeconds', {
    get: () => state.ttl,
    set: (v: number) => {
      state.ttl = v
    },
  })
  Object.defineProperty(out, 'pageSize', {
    get: () => state.pageSize,
    set: (v: number) => {
      state.pageSize = v
    },
  })
  return out
}
