import { AuthRequiredError, NonInteractiveError, NotFoundError, ProviderHttpError, UsageError } from '../../kernel/errors.js'
import { maskSecret } from '../../kernel/redact.js'
import { checkSegment, checkToken as checkTokenText, isoFromText } from '../../kernel/sanitize.js'
import { expiryOf } from '../kit/expiry.js'
import { baseUrl, failure, jsonObject, loginExpiry, parseIsoDate, send, storedExpiry, str, type ErrorReader } from '../api.js'
import { storedBearer } from '../kit/stored.js'
import type { HttpResponse } from '../http.js'
import { collectSecret, collectValue } from '../inputs.js'
import type { ApiKey, CreatedKey, Credential, KeyManager, LoginInput, LoginResult, Provider, ProviderContext, StoredKey, TokenSet } from '../types.js'

const API_VAR = 'AUTHCTL_HAUT_API_URL'
const DEFAULT_API = 'https://saas.haut.ai/api/v1'
const LOGIN_SLOT = 'login'
/** `keys create haut` without --expires: the API requires an expiration_time. */
export const DEFAULT_KEY_DAYS = 90
/** Bound on `keys list` pagination, so a misbehaving `next` cannot loop forever. */
const MAX_PAGES = 1000

const api = (ctx: ProviderContext) => baseUrl(ctx, API_VAR, DEFAULT_API)

/** drf-standardized-errors: `{"type","errors":[{"code","detail","attr"}]}`. */
export const readHautError: ErrorReader = (res) => {
  try {
    const b = JSON.parse(res.body) as { errors?: Array<{ code?: unknown; detail?: unknown; attr?: unknown }>; detail?: unknown }
    const first = Array.isArray(b.errors) ? b.errors[0] : undefined
    if (first) {
      const attr = str(first.attr)
      const detail = str(first.detail)
      return { code: str(first.code), detail: attr && detail ? `${attr}: ${detail}` : detail }
    }
    return str(b.detail) ? { detail: str(b.detail) } : {}
  } catch {
    return {}
  }
}

/** Haut errors, with `invalid_token` always an authentication failure (exit 4). */
function hautFailure(res: HttpResponse, what: string, cred: Credential | undefined, notFoundHint?: string): Error {
  const authHint = !cred
    ? 'check the email and password'
    : cred.source === 'environment'
      ? 'check HAUT_EMAIL/HAUT_PASSWORD or HAUT_TOKEN'
      : cred.kind === 'token'
        ? 'the private token may have expired or been revoked; create a new one and run `authctl login haut --token-stdin --company-id ID`'
        : 'run `authctl login haut` again'
  if (readHautError(res).code === 'invalid_token') {
    return new AuthRequiredError(`${what} failed: the token is expired or invalid (invalid_token)`, { hint: authHint })
  }
  return failure(res, readHautError, { what, authHint, ...(notFoundHint ? { notFoundHint } : {}) })
}

const bearer = (t: TokenSet) => ({ authorization: `Bearer ${t.accessToken}` })

interface HautLogin {
  token: TokenSet
  id: string
  email: string
  companyId: string
}

/** POST /auth/login/ with `username` = the email (field name per the API docs). */
async function passwordLogin(email: string, password: string, ctx: ProviderContext, cred?: Credential): Promise<HautLogin> {
  const res = await send(ctx, { method: 'POST', url: `${api(ctx)}/auth/login/`, json: { username: email, password } })
  if (res.status === 400) {
    const { code, detail } = readHautError(res)
    throw new AuthRequiredError(`Haut.ai refused the login of ${email} (HTTP 400${code || detail ? `: ${[code, detail].filter(Boolean).join(': ')}` : ''})`, {
      hint: 'accounts with MFA cannot log in through the API: create a private token in the Haut.ai UI (user menu > API Keys) and run `authctl login haut --token-stdin --company-id ID`',
    })
  }
  if (res.status !== 200) throw hautFailure(res, `Haut.ai login of ${email}`, cred)
  const b = jsonObject(res, 'Haut.ai login')
  const access = str(b.access_token) ?? str(b.token_access)
  const companyId = str(b.company_id)
  if (!access || !companyId) {
    throw new ProviderHttpError('Haut.ai login: malformed response (no access_token or company_id)', {
      status: res.status,
      hint: 'try again, or check AUTHCTL_HAUT_API_URL',
    })
  }
  checkTokenText(access, 'Haut.ai login')
  const now = ctx.clock.now()
  const id = str(b.id) ?? ''
  const mail = str(b.email) ?? email
  return {
    token: {
      accessToken: access,
      tokenType: 'Bearer',
      expiresAt: expiryOf(now, access),
      obtainedAt: now,
      scopes: [],
      info: { companyId, id, email: mail },
    },
    id,
    email: mail,
    companyId,
  }
}

function companyOf(cred: Credential, token?: TokenSet): string | undefined {
  return str(cred.data.companyId) ?? token?.info?.companyId
}

/** GET /companies/{company_id}/datasets/ — the cheapest call that proves a token works. */
async function checkToken(token: TokenSet, companyId: string, ctx: ProviderContext, cred: Credential): Promise<void> {
  checkSegment(companyId, 'Haut.ai company id')
  const res = await send(ctx, {
    method: 'GET',
    url: `${api(ctx)}/companies/${encodeURIComponent(companyId)}/datasets/?page=1&page_size=1`,
    headers: bearer(token),
  })
  if (res.status !== 200) throw hautFailure(res, `Haut.ai token check for company ${companyId}`, cred)
  jsonObject(res, 'Haut.ai token check') // a 200 HTML page (proxy, portal) is not a valid answer
}

/** `30d`, `12h`, `2w` or an ISO-8601 date → ISO-8601. */
export function parseExpiry(value: string, now: number): string {
  const m = /^(\d{1,5})([hdw])$/.exec(value)
  if (m) {
    const n = Number(m[1])
    if (n <= 0) throw new UsageError('--expires must be in the future')
    const unit = { h: 3600_000, d: 86400_000, w: 7 * 86400_000 }[m[2] as 'h' | 'd' | 'w']
    return new Date(now + n * unit).toISOString()
  }
  if (value === 'never') throw new UsageError('Haut.ai private tokens must expire', { hint: 'pass --expires 90d or an ISO-8601 date' })
  return parseIsoDate(value, '--expires', now)
}

function toApiKey(k: Record<string, unknown>): ApiKey {
  const exp = str(k.expiration_time)
  return { id: str(k.id) ?? '', name: str(k.name) ?? '', maskedKey: '****', expiresAt: isoFromText(exp) }
}

/** Every private token, following `next` links on the API's own host. */
async function listRaw(cred: Credential, token: TokenSet, ctx: ProviderContext): Promise<Array<Record<string, unknown>>> {
  const base = new URL(`${api(ctx)}/`)
  let url: string | undefined = `${api(ctx)}/auth/private_tokens/?page=1`
  const out: Array<Record<string, unknown>> = []
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const res = await send(ctx, { method: 'GET', url, headers: bearer(token) })
    if (res.status !== 200) throw hautFailure(res, 'Haut.ai private token list', cred)
    const b = jsonObject(res, 'Haut.ai private token list')
    const results = Array.isArray(b.results) ? b.results : []
    for (const k of results) out.push((k ?? {}) as Record<string, unknown>)
    const next = str(b.next)
    if (!next) break
    url = nextPage(next, url, base)
  }
  return out
}

/**
 * A `next` link, requested only on the API's own host. Behind a TLS-terminating proxy the API
 * may build it from the plain-http view of the same host: that link is followed as https.
 */
export function nextPage(next: string, current: string, base: URL): string {
  const nextUrl = new URL(next, current)
  if (nextUrl.protocol === 'http:' && base.protocol === 'https:' && nextUrl.hostname === base.hostname) nextUrl.protocol = 'https:'
  // The token goes only where it came from: a `next` on another origin is refused.
  if (nextUrl.origin !== base.origin) {
    throw new ProviderHttpError(`Haut.ai pagination pointed to another host (${nextUrl.host}); stopped`, { hint: 'check AUTHCTL_HAUT_API_URL' })
  }
  return nextUrl.toString()
}

/** `keys create` needs a name (checked by the CLI before the login is read, and here). */
const NAME_REQUIRED = { hint: 'e.g. --name ci-pipeline' }

const keys: KeyManager = {
  flags: [
    { flags: '--name <name>', help: 'key name (required)', ops: ['create'], required: NAME_REQUIRED },
    { flags: '--expires <when>', help: 'ISO-8601 date or 30d/12h/2w (default 90d)', ops: ['create', 'rotate'] },
  ],

  async create(cred, token, o, ctx): Promise<CreatedKey> {
    const name = str(o.name)
    if (!name) throw new UsageError('missing --name', NAME_REQUIRED) // a rotation's old key may have none
    let expires = str(o.expires)
    if (!expires) {
      expires = `${DEFAULT_KEY_DAYS}d`
      ctx.warn(`no --expires given; the key expires in ${DEFAULT_KEY_DAYS} days (Haut.ai requires an expiry)`)
    }
    const expiration_time = parseExpiry(expires, ctx.clock.now())
    const res = await send(ctx, { method: 'POST', url: `${api(ctx)}/auth/private_tokens/`, headers: bearer(token), json: { name, expiration_time } })
    if (res.status !== 201 && res.status !== 200) throw hautFailure(res, 'Haut.ai private token creation', cred)
    const raw = jsonObject(res, 'Haut.ai private token creation')
    if (!str(raw.data)) throw new ProviderHttpError('Haut.ai created a private token but returned no secret', { hint: 'list the keys and revoke it if unused' })
    const secret = checkTokenText(raw.data, 'Haut.ai private token creation')
    return { ...toApiKey(raw), maskedKey: maskSecret(secret), secret, raw }
  },

  async list(cred, token, _o, ctx) {
    return (await listRaw(cred, token, ctx)).map(toApiKey)
  },

  async replacementOf(cred, token, id, _o, ctx) {
    const raw = (await listRaw(cred, token, ctx)).find((k) => str(k.id) === id)
    if (!raw) throw new NotFoundError(`Haut.ai has no private token ${id}`, { hint: 'see `authctl keys list haut`' })
    const old = toApiKey(raw)
    // Expiry is not copied: a replacement gets --expires or the create default (90 days).
    return { old, options: { name: old.name } }
  },

  async verify(cred, _token, key, _o, ctx) {
    const token: TokenSet = { accessToken: key.secret }
    const companyId = companyOf(cred)
    if (companyId) return checkToken(token, companyId, ctx, cred)
    const res = await send(ctx, { method: 'GET', url: `${api(ctx)}/auth/private_tokens/?page=1&page_size=1`, headers: bearer(token) })
    if (res.status !== 200) throw hautFailure(res, `Haut.ai check of private token ${key.id}`, cred)
    jsonObject(res, 'Haut.ai token check')
  },

  async revoke(cred, token, id, _o, ctx) {
    checkSegment(id, 'key id')
    const res = await send(ctx, { method: 'DELETE', url: `${api(ctx)}/auth/private_tokens/${encodeURIComponent(id)}/`, headers: bearer(token) })
    if (res.status !== 204 && res.status !== 200) throw hautFailure(res, `revoking Haut.ai private token ${id}`, cred, 'see `authctl keys list haut`')
  },

  save(key) {
    return { secret: { privateToken: key.secret }, data: { privateTokenId: key.id, privateTokenExpiresAt: key.expiresAt } }
  },
}

function privateTokenSet(cred: Credential): TokenSet | undefined {
  const t = cred.secret.privateToken
  if (!t) return undefined
  const exp = Date.parse(str(cred.data.privateTokenExpiresAt) ?? '')
  return { accessToken: t, tokenType: 'Bearer', scopes: [], ...(Number.isFinite(exp) ? { expiresAt: exp } : {}) }
}

/** A saved private token, or the token of a token login. */
function keyToken(cred: Credential): TokenSet {
  return privateTokenSet(cred) ?? storedBearer(cred, 'token', { what: 'Haut.ai token', hint: 'run `authctl login haut`' })
}

export const haut: Provider = {
  id: 'haut',
  aliases: ['hautai'],
  displayName: 'Haut.ai',
  env: {
    prefix: 'HAUT',
    credentials: [['HAUT_EMAIL', 'HAUT_PASSWORD'], ['HAUT_TOKEN']],
    extras: ['HAUT_COMPANY_ID'],
    secrets: ['HAUT_PASSWORD'],
  },
  endpoints: [{ variable: API_VAR, url: DEFAULT_API, label: 'API' }],
  stored: {
    password: {
      secret: [],
      optionalSecret: ['password', 'privateToken'],
      data: { email: 'string', storePassword: 'boolean?', privateTokenId: 'string?', privateTokenExpiresAt: 'string?' },
    },
    token: { secret: ['token'], data: { expiresAt: 'string?' } },
  },
  loginFlags: [
    { flags: '--email <email>', help: 'account email', env: 'HAUT_EMAIL' },
    { flags: '--password-stdin', help: 'read the password from stdin', env: 'HAUT_PASSWORD' },
    { flags: '--no-store-password', help: 'keep only the 1 h token; `token` cannot renew unattended' },
    { flags: '--token-stdin', help: 'store a token made in the provider UI, read from stdin', env: 'HAUT_TOKEN' },
    { flags: '--company-id <id>', help: 'company id of a private token', env: 'HAUT_COMPANY_ID' },
    { flags: '--expires <date>', help: 'when the stored key or token expires (ISO-8601 date or never), for expiry checks' },
  ],
  keys,

  fromEnv(env): Credential | undefined {
    if (env.HAUT_EMAIL && env.HAUT_PASSWORD) {
      return {
        kind: 'password',
        source: 'environment',
        secret: { password: env.HAUT_PASSWORD },
        data: { email: env.HAUT_EMAIL, ...(env.HAUT_COMPANY_ID ? { companyId: env.HAUT_COMPANY_ID } : {}) },
      }
    }
    if (env.HAUT_TOKEN) {
      return { kind: 'token', source: 'environment', secret: { token: env.HAUT_TOKEN }, data: env.HAUT_COMPANY_ID ? { companyId: env.HAUT_COMPANY_ID } : {} }
    }
    return undefined
  },

  /** A saved private token is preferred (long-lived, made for automation); else the login token. */
  plan(cred) {
    if (cred.kind !== 'password' || cred.secret.privateToken) return { kind: 'static', token: () => keyToken(cred) }
    const password = cred.secret.password
    if (!password) return { kind: 'cache-only', slot: LOGIN_SLOT }
    return { kind: 'renewable', slot: LOGIN_SLOT, renew: async (ctx) => ({ token: (await passwordLogin(String(cred.data.email), password, ctx, cred)).token }) }
  },
  keyToken,

  storedKey(kind, data): StoredKey | undefined {
    if (kind === 'token') {
      return {
        label: 'private token',
        ...storedExpiry(data.expiresAt),
        field: 'token',
        replaceHint:
          'create a new one (`authctl keys create haut --name NAME` in a password login, or in the Haut.ai UI: user menu > API Keys) and run `authctl login haut --token-stdin --company-id ID --expires DATE`',
      }
    }
    const id = str(data.privateTokenId)
    if (!id) return undefined
    const savedExp = str(data.privateTokenExpiresAt)
    const relogin = data.storePassword === false ? 'run `authctl login haut`, then ' : ''
    return {
      label: 'private token',
      id,
      ...(savedExp ? { expiresAt: savedExp } : {}),
      field: 'privateToken',
      replaceHint: `${relogin}run \`authctl keys rotate haut ${id}\``,
      ...(data.storePassword === false ? {} : { afterExpiry: 'token and exec log in with the stored password instead, with a warning' }),
    }
  },

  async login(input: LoginInput, ctx): Promise<LoginResult> {
    const o = input.options
    if (o.tokenStdin || (!o.email && !o.passwordStdin && ctx.env.HAUT_TOKEN && !ctx.env.HAUT_EMAIL)) {
      if (o.passwordStdin) throw new UsageError('--token-stdin and --password-stdin both read stdin; pick one')
      const companyId = str(o.companyId) ?? ctx.env.HAUT_COMPANY_ID
      if (!companyId) {
        throw new NonInteractiveError('a Haut.ai private token needs its company id', {
          hint: 'pass --company-id ID (shown next to API Keys in the Haut.ai UI) or set HAUT_COMPANY_ID',
        })
      }
      checkSegment(companyId, 'Haut.ai company id')
      const token = await collectSecret(input, ctx, {
        stdin: Boolean(o.tokenStdin),
        envVar: 'HAUT_TOKEN',
        flag: '--token-stdin',
        message: 'Haut.ai private token',
        header: true,
      })
      const expiry = loginExpiry(o, ctx.clock.now(), true, '--token-stdin')
      const cred: Credential = { kind: 'token', source: 'memory', secret: { token }, data: { companyId } }
      await checkToken({ accessToken: token }, companyId, ctx, cred)
      return {
        kind: 'token',
        secret: { token },
        data: { companyId, ...expiry },
        summary: `Stored Haut.ai private token ${maskSecret(token)} for company ${companyId}${expiry.expiresAt ? `, expiring ${expiry.expiresAt}` : ''}`,
      }
    }
    if (o.companyId) throw new UsageError('--company-id goes with --token-stdin; a password login learns the company from Haut.ai')
    loginExpiry(o, ctx.clock.now(), false, '--token-stdin')
    const email = await collectValue(input, ctx, { value: o.email as string | undefined, envVar: 'HAUT_EMAIL', flag: '--email', message: 'Haut.ai email' })
    const password = await collectSecret(input, ctx, {
      stdin: Boolean(o.passwordStdin),
      envVar: 'HAUT_PASSWORD',
      flag: '--password-stdin',
      message: 'Haut.ai password',
    })
    const login = await passwordLogin(email, password, ctx)
    const storePassword = o.storePassword !== false
    return {
      kind: 'password',
      secret: storePassword ? { password } : {},
      data: { email: login.email, userId: login.id, companyId: login.companyId, storePassword },
      tokens: [{ slot: LOGIN_SLOT, token: login.token }],
      summary: `Logged in to Haut.ai as ${login.email} (company ${login.companyId})${storePassword ? '' : ' (password not stored: the token lasts about 1 h)'}`,
    }
  },

  async whoami(cred, token, ctx) {
    const companyId = companyOf(cred, token)
    if (!companyId) throw new UsageError('the Haut.ai company id is unknown for this credential', { hint: 'set HAUT_COMPANY_ID or log in with --company-id' })
    await checkToken(token, companyId, ctx, cred)
    return {
      email: str(cred.data.email) ?? token.info?.email ?? null,
      id: str(cred.data.userId) ?? token.info?.id ?? null,
      company_id: companyId,
      valid: true,
    }
  },

  headerLines(_cred, token) {
    return [`Authorization: Bearer ${token.accessToken}`]
  },

  envVars(cred, tokens) {
    const out: Record<string, string> = {}
    const first = tokens[0]
    if (first) out.HAUT_ACCESS_TOKEN = first.token.accessToken
    const companyId = companyOf(cred, first?.token)
    if (companyId) out.HAUT_COMPANY_ID = companyId
    return out
  },
}
