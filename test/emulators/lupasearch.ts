import { randomBytes, randomUUID } from 'node:crypto'
import { makeJwt, startEmulator, type Emulator, type SeenRequest } from './_server.js'

export interface LupaUser {
  email: string
  password: string
  id: string
  organizations: Array<{ slug: string; role: string; projects: string[] }>
}

export interface LupaKey {
  id: string
  org: string
  project: string
  description: string
  access: string
  restrictIndexScope: boolean
  indexIds: string[]
  expiration: string | null
  key: string
}

export interface LupaEmulator extends Emulator {
  apiUrl: string
  users: Map<string, LupaUser>
  keys: Map<string, LupaKey>
  tokenTtlSeconds: number
  loginRequests(): number
  /** True when the JWT was issued here, is not expired and not revoked. */
  isValid(token: string): boolean
  revokeAllTokens(): void
}

/**
 * LupaSearch as PROVIDERS.md §2 describes it: /v1/users/login → 1 h JWT (no refresh token,
 * expiry only in the `exp` claim), /v1/users/me, and project API keys under
 * /v1/organizations/{org}/projects/{project}/apiKeys. Errors use the `errors` array, as strings
 * on login and as `{message}` objects elsewhere (the official client accepts both).
 */
export async function startLupaSearch(opts: { users?: LupaUser[] } = {}): Promise<LupaEmulator> {
  const users = new Map(
    (
      opts.users ?? [
        {
          email: 'dev@example.com',
          password: 'lupa-password-123',
          id: randomUUID(),
          organizations: [{ slug: 'acme', role: 'ORGANIZATION_ADMIN', projects: ['shop'] }],
        },
      ]
    ).map((u) => [u.email, u]),
  )
  const keys = new Map<string, LupaKey>()
  const tokens = new Map<string, { email: string; exp: number }>()
  const state = { ttl: 3600 }

  const userOf = (req: SeenRequest): LupaUser | undefined => {
    const t = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    const rec = tokens.get(t)
    return rec && rec.exp > Date.now() ? users.get(rec.email) : undefined
  }

  const emu = await startEmulator((req, res) => {
    const p = req.path
    if (p === '/v1/users/login' && req.method === 'POST') {
      let body: { email?: unknown; password?: unknown }
      try {
        body = JSON.parse(req.body)
      } catch {
        return res.json(400, { errors: ['Invalid JSON body'] })
      }
      const u = typeof body.email === 'string' ? users.get(body.email) : undefined
      if (!u || u.password !== body.password) return res.json(401, { errors: ['Invalid email or password'] })
      const now = Date.now()
      const exp = now + state.ttl * 1000
      const token = makeJwt({ sub: u.id, email: u.email, iat: Math.floor(now / 1000), exp: emu.hostile.jwtExp ?? Math.floor(exp / 1000), jti: randomUUID() })
      tokens.set(token, { email: u.email, exp })
      return res.json(200, { success: true, token })
    }
    const idx = /^\/v1\/indices\/([^/]+)$/.exec(p)
    if (idx && req.method === 'GET' && req.headers['x-lupa-api-key'] !== undefined) {
      // The key check LupaSearch's plugins use: an index readable with the key.
      const k = [...keys.values()].find((x) => x.key === req.headers['x-lupa-api-key'])
      const live = k && (k.expiration === null || Date.parse(k.expiration) > Date.now())
      if (!k || !live || (k.restrictIndexScope && !k.indexIds.includes(idx[1] as string))) return res.json(401, { errors: [{ message: 'Invalid API key' }] })
      return res.json(200, { id: idx[1], name: `index ${idx[1]}` })
    }
    const u = userOf(req)
    if (!u) return res.json(401, { errors: [{ message: 'Unauthorized' }] })
    if (p === '/v1/users/me' && req.method === 'GET') {
      return res.json(200, {
        id: u.id,
        email: u.email,
        createdAt: '2021-10-15T13:23:36.000Z',
        updatedAt: '2021-10-15T13:23:36.000Z',
        organizations: u.organizations.map((o) => ({
          id: randomUUID(),
          name: o.slug.toUpperCase(),
          slug: o.slug,
          createdAt: '2021-10-28T12:32:19.000Z',
          updatedAt: '2021-10-28T12:32:19.000Z',
          role: o.role,
        })),
      })
    }
    const m = /^\/v1\/organizations\/([^/]+)\/projects\/([^/]+)\/apiKeys(?:\/([^/]+))?$/.exec(p)
    if (m) {
      const [, org, project, id] = m as unknown as [string, string, string, string | undefined]
      const o = u.organizations.find((x) => x.slug === org)
      if (!o?.projects.includes(project)) return res.json(404, { errors: [{ message: `Project ${org}/${project} not found` }] })
      const visible = (k: LupaKey) => {
        const { key, ...rest } = k
        void rest
        return { ...rest, visibleKey: `${key.slice(0, 3)}*****${key.slice(-3)}` }
      }
      if (!id && req.method === 'POST') {
        const b = JSON.parse(req.body || '{}') as Partial<LupaKey>
        if (typeof b.description !== 'string' || !['read', 'full', 'custom'].includes(String(b.access))) {
          return res.json(400, { errors: [{ message: 'description and access (read|full|custom) are required' }] })
        }
        if (b.expiration !== null && (typeof b.expiration !== 'string' || Number.isNaN(Date.parse(b.expiration)))) {
          return res.json(400, { errors: [{ message: 'expiration must be a timestamp or null' }] })
        }
        const k: LupaKey = {
          id: randomUUID(),
          org,
          project,
          description: b.description,
          access: String(b.access),
          restrictIndexScope: Boolean(b.restrictIndexScope),
          indexIds: Array.isArray(b.indexIds) ? b.indexIds.map(String) : [],
          expiration: b.expiration ?? null,
          key: randomBytes(36).toString('base64url'),
        }
        keys.set(k.id, k)
        const { org: _o, project: _p, ...out } = { ...visible(k), key: k.key }
        return res.json(200, out)
      }
      if (!id && req.method === 'GET') {
        return res.json(
          200,
          [...keys.values()]
            .filter((k) => k.org === org && k.project === project)
            .map((k) => {
              const { org: _o, project: _p, ...out } = visible(k)
              return out
            }),
        )
      }
      if (id && req.method === 'DELETE') {
        const k = keys.get(id)
        if (!k || k.org !== org || k.project !== project) return res.json(404, { errors: [{ message: 'API key not found' }] })
        keys.delete(id)
        return res.json(200, { success: true })
      }
    }
    return res.json(404, { errors: [{ message: 'Not found' }] })
  })
  const out = Object.assign(emu, {
    apiUrl: `${emu.url}/v1`,
    users,
    keys,
    tokenTtlSeconds: 0,
    loginRequests: () => emu.count('/v1/users/login', 'POST'),
    isValid: (t: string) => (tokens.get(t)?.exp ?? 0) > Date.now(),
    revokeAllTokens: () => tokens.clear(),
  })
  Object.defineProperty(out, 'tokenTtlSeconds', {
    get: () => state.ttl,
    set: (v: number) => {
      state.ttl = v
    },
  })
  return out
}
