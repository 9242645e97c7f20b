import { AuthRequiredError, NotFoundError, UnsupportedOperationError, UsageError } from '../../kernel/errors.js'
import { maskSecret, maskVisible } from '../../kernel/redact.js'
import { checkSegment, checkToken, isoFromText } from '../../kernel/sanitize.js'
import { expiryOf } from '../kit/expiry.js'
import { baseUrl, failure, jsonArray, jsonObject, loginExpiry, parseIsoDate, send, storedExpiry, str, type ErrorReader } from '../api.js'
import { collectSecret, collectValue } from '../inputs.js'
import type {
  ApiKey,
  CreatedKey,
  Credential,
  KeyManager,
  KeyOptions,
  LoginInput,
  LoginResult,
  Provider,
  ProviderContext,
  StoredKey,
  TokenSet,
} from '../types.js'

const API_VAR = 'AUTHCTL_LUPASEARCH_API_URL'
const DEFAULT_API = 'https://api.lupasearch.com/v1'
const JWT_SLOT = 'jwt'

const api = (ctx: ProviderContext) => baseUrl(ctx, API_VAR, DEFAULT_API)

/** `{"errors": ["…"]}` or `{"errors": [{"message": "…"}]}` (official PHP client RequestErrorHandler). */
export const readLupaError: ErrorReader = (res) => {
  try {
    const b = JSON.parse(res.body) as { errors?: unknown; message?: unknown }
    const errs = Array.isArray(b.errors) ? b.errors : b.errors && typeof b.errors === 'object' ? [b.errors] : []
    const msgs = errs.map((e) => (typeof e === 'string' ? e : str((e as { message?: unknown })?.message))).filter(Boolean)
    if (msgs.length) return { detail: msgs.join('; ') }
    return str(b.message) ? { detail: str(b.message) } : {}
  } catch {
    return {}
  }
}

function loginHint(cred: Credential): string {
  return cred.source === 'environment' ? 'check LUPA_EMAIL and LUPA_PASSWORD' : 'run `authctl login lupasearch` again'
}

/** POST /users/login → 1 h JWT (expiry from its `exp` claim; there is no refresh token). */
async function passwordLogin(email: string, password: string, ctx: ProviderContext, hint: string): Promise<TokenSet> {
  const res = await send(ctx, { method: 'POST', url: `${api(ctx)}/users/login`, json: { email, password } })
  if (res.status !== 200 && res.status !== 201) throw failure(res, readLupaError, { what: `LupaSearch login of ${email}`, authHint: hint })
  const body = jsonObject(res, 'LupaSearch login')
  if (!str(body.token)) throw new AuthRequiredError(`LupaSearch login of ${email} returned no token`, { hint })
  const token = checkToken(body.token, 'LupaSearch login')
  const now = ctx.clock.now()
  return { accessToken: token, tokenType: 'Bearer', expiresAt: expiryOf(now, token), obtainedAt: now, scopes: [] }
}

interface LupaUser {
  id: string
  email: string
  organizations: Array<{ slug: string; role: string; name?: string }>
}

async function me(token: string, ctx: ProviderContext, hint: string): Promise<LupaUser> {
  const res = await send(ctx, { method: 'GET', url: `${api(ctx)}/users/me`, headers: { authorization: `Bearer ${token}` } })
  if (res.status !== 200) throw failure(res, readLupaError, { what: 'LupaSearch users/me', authHint: hint })
  const b = jsonObject(res, 'LupaSearch users/me')
  const orgs = Array.isArray(b.organizations) ? b.organizations : []
  return {
    id: str(b.id) ?? '',
    email: str(b.email) ?? '',
    organizations: orgs.map((o) => {
      const org = (o ?? {}) as Record<string, unknown>
      return { slug: str(org.slug) ?? '', role: str(org.role) ?? '', ...(str(org.name) ? { name: str(org.name) } : {}) }
    }),
  }
}

function apiKeyToken(key: string): TokenSet {
  return { accessToken: key, tokenType: 'api-key', scopes: [] }
}

/** Key management needs the user's JWT; an API-key-only profile cannot do it. */
function requireJwt(token: TokenSet): void {
  if (token.tokenType === 'api-key') {
    throw new AuthRequiredError('managing LupaSearch keys needs an email/password login; this profile holds only an API key', {
      hint: 'run `authctl login lupasearch --email EMAIL` in this profile',
    })
  }
}

/** Org and project for key calls: flags, then the login defaults, then the only organization. */
async function orgProject(cred: Credential, token: TokenSet, o: KeyOptions, ctx: ProviderContext): Promise<{ org: string; project: string }> {
  requireJwt(token)
  let org = str(o.org) ?? str(cred.data.org)
  if (!org) {
    const orgs = (await me(token.accessToken, ctx, loginHint(cred))).organizations
    if (orgs.length === 1 && orgs[0]?.slug) org = orgs[0].slug
    else throw new UsageError('which LupaSearch organization?', { hint: `pass --org (yours: ${orgs.map((x) => x.slug).join(', ') || 'none'})` })
  }
  const project = str(o.project) ?? str(cred.data.project)
  if (!project) throw new UsageError('which LupaSearch project?', { hint: 'pass --project SLUG, or log in with --project to set a default' })
  return { org: checkSegment(org, 'organization slug'), project: checkSegment(project, 'project slug') }
}

function toApiKey(k: Record<string, unknown>): ApiKey {
  const expiration = str(k.expiration)
  return {
    id: str(k.id) ?? '',
    name: str(k.description) ?? '',
    maskedKey: maskVisible(str(k.visibleKey) ?? ''),
    expiresAt: isoFromText(expiration),
    ...(str(k.access) ? { access: str(k.access) as string } : {}),
  }
}

/** A replacement of a key that expires gets this lifetime unless --expires says otherwise. */
const REPLACEMENT_DAYS = 90

async function listRaw(cred: Credential, token: TokenSet, o: KeyOptions, ctx: ProviderContext): Promise<Array<Record<string, unknown>>> {
  const { org, project } = await orgProject(cred, token, o, ctx)
  const res = await send(ctx, {
    method: 'GET',
    url: `${api(ctx)}/organizations/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/apiKeys`,
    headers: { authorization: `Bearer ${token.accessToken}` },
  })
  if (res.status !== 200) throw failure(res, readLupaError, { what: `LupaSearch key list of ${org}/${project}`, authHint: loginHint(cred) })
  return jsonArray(res, 'LupaSearch key list').map((k) => (k ?? {}) as Record<string, unknown>)
}

/** `keys create` needs a description (checked by the CLI before the login is read, and here). */
const DESCRIPTION_REQUIRED = { hint: 'say where the key will be used, e.g. --description "staging import"' }

const keys: KeyManager = {
  flags: [
    { flags: '--org <slug>', help: 'organization (default: from login, or your only one)' },
    { flags: '--project <slug>', help: 'project (default: from login)' },
    {
      flags: '--description <text>',
      help: 'what the key is for (required)',
      ops: ['create'],
      required: DESCRIPTION_REQUIRED,
    },
    { flags: '--access <level>', help: 'read | full (default read)', ops: ['create'] },
    { flags: '--index <id>', help: 'restrict to this index id, repeatable', repeatable: true, ops: ['create'] },
    { flags: '--expires <when>', help: 'ISO-8601 date or never (default never; rotate: as the old key)', ops: ['create', 'rotate'] },
  ],

  async create(cred, token, o, ctx): Promise<CreatedKey> {
    const description = str(o.description)
    if (!description) throw new UsageError('missing --description', DESCRIPTION_REQUIRED) // a rotation's old key may have none
    const access = str(o.access) ?? 'read'
    if (access !== 'read' && access !== 'full') throw new UsageError(`--access must be read or full; got ${JSON.stringify(access)}`)
    const indexIds = Array.isArray(o.index) ? o.index.map(String) : []
    const expires = str(o.expires)
    const expiration = !expires || expires === 'never' ? null : parseIsoDate(expires, '--expires', ctx.clock.now())
    const { org, project } = await orgProject(cred, token, o, ctx)
    const res = await send(ctx, {
      method: 'POST',
      url: `${api(ctx)}/organizations/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/apiKeys`,
      headers: { authorization: `Bearer ${token.accessToken}` },
      json: { description, access, restrictIndexScope: indexIds.length > 0, indexIds, expiration },
    })
    if (res.status !== 200 && res.status !== 201)
      throw failure(res, readLupaError, { what: `LupaSearch key creation in ${org}/${project}`, authHint: loginHint(cred) })
    const raw = jsonObject(res, 'LupaSearch key creation')
    if (!str(raw.key)) throw new UsageError('LupaSearch created a key but returned no secret', { hint: 'list the keys and revoke it if unused' })
    const secret = checkToken(raw.key, 'LupaSearch key creation')
    return { ...toApiKey(raw), secret, raw }
  },

  async list(cred, token, o, ctx) {
    return (await listRaw(cred, token, o, ctx)).map(toApiKey)
  },

  async replacementOf(cred, token, id, o, ctx) {
    const raw = (await listRaw(cred, token, o, ctx)).find((k) => str(k.id) === id)
    if (!raw) throw new NotFoundError(`LupaSearch has no API key ${id} in this project`, { hint: 'see `authctl keys list lupasearch`' })
    const old = toApiKey(raw)
    const indexIds = raw.restrictIndexScope === true && Array.isArray(raw.indexIds) ? raw.indexIds.map(String) : []
    const options: Record<string, unknown> = { description: old.name, access: old.access ?? 'read', ...(indexIds.length ? { index: indexIds } : {}) }
    if (old.expiresAt === null) options.expires = 'never'
    else if (str(o.expires) === undefined) {
      options.expires = new Date(ctx.clock.now() + REPLACEMENT_DAYS * 86400_000).toISOString()
      ctx.warn(`no --expires given; the replacement expires in ${REPLACEMENT_DAYS} days`)
    }
    return { old, options }
  },

  /**
   * A key restricted to indices is checked with `GET /indices/{id}` (the check LupaSearch's
   * own plugins use); one with no index scope can only be found in the key list, since every
   * key-authenticated call needs an index id.
   */
  async verify(cred, token, key, o, ctx) {
    const indexId = Array.isArray(key.raw.indexIds) ? str(key.raw.indexIds[0]) : undefined
    if (key.raw.restrictIndexScope === true && indexId) {
      const res = await send(ctx, { method: 'GET', url: `${api(ctx)}/indices/${encodeURIComponent(indexId)}`, headers: { 'x-lupa-api-key': key.secret } })
      if (res.status !== 200)
        throw failure(res, readLupaError, { what: `LupaSearch check of key ${key.id} on index ${indexId}`, authHint: 'the new key was refused' })
      return
    }
    const listed = (await listRaw(cred, token, o, ctx)).some((k) => str(k.id) === key.id)
    if (!listed) throw new AuthRequiredError(`LupaSearch does not list the new key ${key.id}`, { hint: 'check the project in the LupaSearch console' })
  },

  async revoke(cred, token, id, o, ctx) {
    checkSegment(id, 'key id')
    const { org, project } = await orgProject(cred, token, o, ctx)
    const res = await send(ctx, {
      method: 'DELETE',
      url: `${api(ctx)}/organizations/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}/apiKeys/${encodeURIComponent(id)}`,
      headers: { authorization: `Bearer ${token.accessToken}` },
    })
    if (res.status < 200 || res.status > 299) {
      throw failure(res, readLupaError, {
        what: `revoking LupaSearch key ${id}`,
        authHint: loginHint(cred),
        notFoundHint: 'see `authctl keys list lupasearch`',
      })
    }
  },

  save(key) {
    return { secret: { apiKey: key.secret }, data: { apiKeyId: key.id, apiKeyExpiresAt: key.expiresAt } }
  },
}

/** The stored API key as a token (an API-key login, or a key saved with `keys create --save`). */
function keyToken(cred: Credential): TokenSet {
  const key = cred.secret.apiKey
  if (!key) {
    throw new AuthRequiredError('no LupaSearch API key is stored in this profile', {
      hint: 'run `authctl keys create lupasearch … --save`, or `authctl login lupasearch --api-key-stdin`',
    })
  }
  return apiKeyToken(key)
}

export const lupasearch: Provider = {
  id: 'lupasearch',
  aliases: ['lupa'],
  displayName: 'LupaSearch',
  env: {
    prefix: 'LUPA',
    credentials: [['LUPA_EMAIL', 'LUPA_PASSWORD'], ['LUPA_API_KEY']],
    secrets: ['LUPA_PASSWORD'],
  },
  endpoints: [{ variable: API_VAR, url: DEFAULT_API, label: 'API' }],
  stored: {
    password: {
      secret: [],
      optionalSecret: ['password', 'apiKey'],
      data: { email: 'string', org: 'string?', project: 'string?', apiKeyId: 'string?', apiKeyExpiresAt: 'string?', storePassword: 'boolean?' },
    },
    'api-key': { secret: ['apiKey'], data: { expiresAt: 'string?' } },
  },
  loginFlags: [
    { flags: '--email <email>', help: 'account email', env: 'LUPA_EMAIL' },
    { flags: '--password-stdin', help: 'read the password from stdin', env: 'LUPA_PASSWORD' },
    { flags: '--no-store-password', help: 'keep only the 1 h token; `token` cannot renew unattended' },
    { flags: '--org <slug>', help: 'default organization for `keys`' },
    { flags: '--project <slug>', help: 'default project for `keys`' },
    { flags: '--api-key-stdin', help: 'store an API key read from stdin', env: 'LUPA_API_KEY' },
    { flags: '--expires <date>', help: 'when the stored key or token expires (ISO-8601 date or never), for expiry checks' },
  ],
  keys,

  fromEnv(env) {
    const apiKey = env.LUPA_API_KEY
    if (env.LUPA_EMAIL && env.LUPA_PASSWORD) {
      return {
        kind: 'password',
        source: 'environment',
        secret: { password: env.LUPA_PASSWORD, ...(apiKey ? { apiKey } : {}) },
        data: { email: env.LUPA_EMAIL },
      }
    }
    if (apiKey) return { kind: 'api-key', source: 'environment', secret: { apiKey }, data: {} }
    return undefined
  },

  plan(cred) {
    if (cred.kind !== 'password') return { kind: 'static', token: () => keyToken(cred) }
    const password = cred.secret.password
    if (!password) return { kind: 'cache-only', slot: JWT_SLOT }
    return {
      kind: 'renewable',
      slot: JWT_SLOT,
      renew: async (ctx) => ({ token: await passwordLogin(String(cred.data.email), password, ctx, loginHint(cred)) }),
    }
  },
  keyToken,

  storedKey(kind, data): StoredKey | undefined {
    const id = str(data.apiKeyId)
    if (kind !== 'api-key' && !id) return undefined
    // A key saved by `keys create --save` records LupaSearch's `expiration`: null is never.
    const expiry = storedExpiry(kind === 'api-key' ? data.expiresAt : data.apiKeyExpiresAt)
    const replaceHint =
      id && kind === 'password'
        ? `run \`authctl keys rotate lupasearch ${id}\``
        : 'create a new key (`authctl keys create lupasearch … --save` in a password login, or in the LupaSearch console) and run `authctl login lupasearch --api-key-stdin --expires DATE`'
    return { label: 'API key', ...(id ? { id } : {}), ...expiry, field: 'apiKey', replaceHint }
  },

  async login(input: LoginInput, ctx): Promise<LoginResult> {
    const o = input.options
    const defaults: Record<string, unknown> = {}
    if (o.org !== undefined) defaults.org = checkSegment(String(o.org), 'organization slug')
    if (o.project !== undefined) defaults.project = checkSegment(String(o.project), 'project slug')
    if (o.apiKeyStdin || (!o.email && !o.passwordStdin && ctx.env.LUPA_API_KEY && !ctx.env.LUPA_EMAIL)) {
      if (o.passwordStdin) throw new UsageError('--api-key-stdin and --password-stdin both read stdin; pick one')
      const expiry = loginExpiry(o, ctx.clock.now(), true, '--api-key-stdin')
      const key = await collectSecret(input, ctx, {
        stdin: Boolean(o.apiKeyStdin),
        envVar: 'LUPA_API_KEY',
        flag: '--api-key-stdin',
        message: 'LupaSearch API key',
        header: true,
      })
      return {
        kind: 'api-key',
        secret: { apiKey: key },
        data: { ...defaults, ...expiry },
        summary: `Stored LupaSearch API key ${maskSecret(key)} (not verified: LupaSearch has no key-check endpoint that needs no index id)`,
      }
    }
    loginExpiry(o, ctx.clock.now(), false, '--api-key-stdin')
    const email = await collectValue(input, ctx, { value: o.email as string | undefined, envVar: 'LUPA_EMAIL', flag: '--email', message: 'LupaSearch email' })
    const password = await collectSecret(input, ctx, {
      stdin: Boolean(o.passwordStdin),
      envVar: 'LUPA_PASSWORD',
      flag: '--password-stdin',
      message: 'LupaSearch password',
    })
    const hint = 'check the email and password'
    const token = await passwordLogin(email, password, ctx, hint)
    const user = await me(token.accessToken, ctx, hint)
    const orgs = user.organizations
    if (!defaults.org && orgs.length === 1 && orgs[0]?.slug) defaults.org = orgs[0].slug
    const storePassword = o.storePassword !== false
    return {
      kind: 'password',
      secret: storePassword ? { password } : {},
      data: { email: user.email || email, userId: user.id, ...defaults, storePassword },
      tokens: [{ slot: JWT_SLOT, token }],
      summary: `Logged in to LupaSearch as ${user.email || email}${storePassword ? '' : ' (password not stored: the token lasts 1 h)'}`,
    }
  },

  async whoami(cred, token, ctx) {
    if (cred.kind !== 'password') {
      throw new UnsupportedOperationError('a LupaSearch API key carries no user identity', { hint: 'log in with email and password to use `whoami`' })
    }
    const user = await me(token.accessToken, ctx, loginHint(cred))
    return { email: user.email, id: user.id, organizations: user.organizations.map((o) => ({ slug: o.slug, role: o.role })) }
  },

  headerLines(_cred, token) {
    return token.tokenType === 'api-key' ? [`X-Lupa-Api-Key: ${token.accessToken}`] : [`Authorization: Bearer ${token.accessToken}`]
  },

  envVars(cred, tokens) {
    const out: Record<string, string> = {}
    for (const { token } of tokens) if (token.tokenType !== 'api-key') out.LUPA_ACCESS_TOKEN = token.accessToken
    if (cred.secret.apiKey) out.LUPA_API_KEY = cred.secret.apiKey
    return out
  },
}
