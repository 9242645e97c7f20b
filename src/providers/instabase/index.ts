import { AuthRequiredError, ProviderHttpError } from '../../kernel/errors.js'
import { maskSecret } from '../../kernel/redact.js'
import { baseUrl, failure, jsonObject, loginExpiry, send, storedExpiry, str, type ErrorReader } from '../api.js'
import { collectSecret } from '../inputs.js'
import { storedBearer } from '../kit/stored.js'
import type { Credential, LoginInput, LoginResult, Provider, ProviderContext, StoredKey, TokenSet } from '../types.js'

const API_VAR = 'AUTHCTL_INSTABASE_API_URL'
const DEFAULT_API = 'https://aihub.instabase.com/api'

/** v2 errors are `{"message": "…"}`; v1 answers 200 with `{"status":"ERROR","msg":"…"}`. */
const readInstabaseError: ErrorReader = (res) => {
  try {
    const b = JSON.parse(res.body) as { message?: unknown; msg?: unknown }
    return { detail: str(b.message) ?? str(b.msg) }
  } catch {
    return {}
  }
}

function headers(token: string, context: string | undefined): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...(context ? { 'ib-context': context } : {}) }
}

/**
 * GET /v2/batches?limit=1: the cheapest call that needs a valid token and context. 401 means
 * the token or the IB-Context is wrong; 403 means the account has no consumption units left.
 */
async function verify(token: string, context: string | undefined, ctx: ProviderContext, hint: string): Promise<void> {
  const res = await send(ctx, { method: 'GET', url: `${baseUrl(ctx, API_VAR, DEFAULT_API)}/v2/batches?limit=1`, headers: headers(token, context) })
  if (res.status === 200) {
    // A 200 that is not the API's answer (a proxy or captive portal page) proves nothing.
    if (!Array.isArray(jsonObject(res, 'AI Hub token check').batches)) {
      throw new ProviderHttpError('AI Hub token check: malformed response (no batches list)', {
        status: 200,
        hint: 'check AUTHCTL_INSTABASE_API_URL and any proxy in between',
      })
    }
    return
  }
  const detail = readInstabaseError(res).detail
  if (res.status === 401) {
    throw new AuthRequiredError(`AI Hub rejected the token${context ? ` or the context ${context}` : ''} (HTTP 401${detail ? `: ${detail}` : ''})`, {
      hint: context ? `check the token, and that ${context} is your user ID or organization ID (Settings > APIs); ${hint}` : hint,
    })
  }
  if (res.status === 403) {
    throw new AuthRequiredError(
      `AI Hub refused the request (HTTP 403${detail ? `: ${detail}` : ''}): the account${context ? ` of context ${context}` : ''} has no consumption units left, or its trial ended`,
      { hint: 'add consumption units, or pass --context with your organization ID to bill the organization' },
    )
  }
  throw failure(res, readInstabaseError, { what: 'AI Hub token check', authHint: hint })
}

function contextOf(cred: Credential): string | undefined {
  return str(cred.data.context)
}

/** AI Hub tokens are made in its UI: the stored token is the token (authctl cannot renew it). */
function storedToken(cred: Credential): TokenSet {
  return storedBearer(cred, 'token', { what: 'AI Hub token', hint: 'run `authctl login instabase --token-stdin`' })
}

export const instabase: Provider = {
  id: 'instabase',
  aliases: ['aihub'],
  displayName: 'Instabase AI Hub',
  env: {
    prefix: 'INSTABASE',
    credentials: [['INSTABASE_API_TOKEN']],
    extras: ['INSTABASE_CONTEXT'],
    secrets: [],
  },
  endpoints: [{ variable: API_VAR, url: DEFAULT_API, label: 'API' }],
  stored: { token: { secret: ['token'], data: { context: 'string?', expiresAt: 'string?' } } },
  loginFlags: [
    { flags: '--token-stdin', help: 'store a token made in the provider UI, read from stdin', env: 'INSTABASE_API_TOKEN' },
    { flags: '--context <id>', help: 'user or organization ID, sent as IB-Context', env: 'INSTABASE_CONTEXT' },
    { flags: '--no-verify', help: 'store without checking it with the provider' },
    { flags: '--expires <date>', help: 'when the stored key or token expires (ISO-8601 date or never), for expiry checks' },
  ],
  keysElsewhere: 'AI Hub tokens are made, refreshed and deleted in the AI Hub UI only: your initials > Settings > APIs > OAuth tokens',

  fromEnv(env): Credential | undefined {
    const token = env.INSTABASE_API_TOKEN
    if (!token) return undefined
    return { kind: 'token', source: 'environment', secret: { token }, data: env.INSTABASE_CONTEXT ? { context: env.INSTABASE_CONTEXT } : {} }
  },

  plan(cred) {
    return { kind: 'static', token: () => storedToken(cred) }
  },

  storedKey(_kind, data): StoredKey {
    return {
      label: 'API token',
      ...storedExpiry(data.expiresAt),
      field: 'token',
      replaceHint: 'make or refresh the token in AI Hub (Settings > APIs > OAuth tokens) and run `authctl login instabase --token-stdin --expires DATE`',
    }
  },

  async login(input: LoginInput, ctx): Promise<LoginResult> {
    const o = input.options
    const expiry = loginExpiry(o, ctx.clock.now(), true, '--token-stdin')
    const token = await collectSecret(input, ctx, {
      stdin: Boolean(o.tokenStdin),
      envVar: 'INSTABASE_API_TOKEN',
      flag: '--token-stdin',
      message: 'AI Hub API token',
      header: true,
    })
    const context = str(o.context) ?? str(ctx.env.INSTABASE_CONTEXT)
    const verified = o.verify !== false
    if (verified) await verify(token, context, ctx, 'run `authctl login instabase` with the right token')
    return {
      kind: 'token',
      secret: { token },
      data: { ...(context ? { context } : {}), ...expiry },
      summary: `Stored AI Hub token ${maskSecret(token)}${context ? ` for context ${context}` : ' (community context)'}${verified ? '' : ' (not verified)'}`,
    }
  },

  async whoami(cred, token, ctx) {
    const context = contextOf(cred)
    await verify(
      token.accessToken,
      context,
      ctx,
      cred.source === 'environment' ? 'check INSTABASE_API_TOKEN and INSTABASE_CONTEXT' : 'run `authctl login instabase` again',
    )
    return { context: context ?? null, valid: true }
  },

  headerLines(cred, token) {
    const context = contextOf(cred)
    return [`Authorization: Bearer ${token.accessToken}`, ...(context ? [`IB-Context: ${context}`] : [])]
  },

  envVars(cred, tokens) {
    const out: Record<string, string> = {}
    const first = tokens[0]
    if (first) out.INSTABASE_API_TOKEN = first.token.accessToken
    const context = contextOf(cred)
    if (context) out.INSTABASE_CONTEXT = context
    return out
  },
}
