import { createHash } from 'node:crypto'
import { UsageError } from '../../kernel/errors.js'
import { secretQueryParams } from '../../kernel/redact.js'
import { cleanText } from '../../kernel/sanitize.js'
import { checkProviderUrl } from '../http.js'
import type { Credential } from '../types.js'

/**
 * What one `oauth2` login (or the OAUTH2_* environment) says about its token endpoint: the
 * non-secret half of the credential, kept in the profile's config as `data`.
 */
export interface OAuth2Settings {
  tokenUrl: string
  clientId: string
  /** Requested scopes (sent space-separated); may be empty. */
  scopes: string[]
  audience?: string
  resource?: string
  /** RFC 6749 §2.3.1: HTTP Basic (default) or client_id/client_secret form fields. */
  auth: AuthMethod
  /** Prefix of the exec/env variables (`<PREFIX>_ACCESS_TOKEN`). */
  envPrefix: string
  grant: Grant
}

export type AuthMethod = 'basic' | 'body'
export type Grant = 'client_credentials' | 'refresh_token'

export const DEFAULT_PREFIX = 'OAUTH2'
/** Credential kinds, one per grant. */
export const KIND: Record<Grant, string> = { client_credentials: 'client-credentials', refresh_token: 'refresh-token' }

export const ENV = {
  tokenUrl: 'OAUTH2_TOKEN_URL',
  clientId: 'OAUTH2_CLIENT_ID',
  clientSecret: 'OAUTH2_CLIENT_SECRET',
  scope: 'OAUTH2_SCOPE',
  audience: 'OAUTH2_AUDIENCE',
  resource: 'OAUTH2_RESOURCE',
  auth: 'OAUTH2_AUTH',
  /** Read by `login` only: a refresh token cannot rotate in an environment variable. */
  refreshToken: 'OAUTH2_REFRESH_TOKEN',
} as const

/** `--env-prefix`: letters, digits and underscores, not starting with a digit (a shell variable name). */
export function checkEnvPrefix(value: string, source = '--env-prefix'): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) {
    throw new UsageError(
      `${source} must be letters, digits and underscores (not starting with a digit, at most 64); got ${JSON.stringify(cleanText(value).slice(0, 80))}`,
      {
        hint: 'e.g. --env-prefix GITHUB_APP sets GITHUB_APP_ACCESS_TOKEN',
      },
    )
  }
  return value
}

export function checkAuthMethod(value: string, source = '--auth'): AuthMethod {
  if (value === 'basic' || value === 'body') return value
  throw new UsageError(`${source} must be basic or body; got ${JSON.stringify(cleanText(value).slice(0, 40))}`, {
    hint: 'basic sends the client as HTTP Basic (client_secret_basic), body as form fields (client_secret_post)',
  })
}

/** `--resource` (RFC 8707): an absolute URI. */
export function checkResource(value: string, source = '--resource'): string {
  let ok = false
  try {
    ok = new URL(value).protocol.length > 1 && !value.includes('#')
  } catch {
    ok = false
  }
  if (!ok) throw new UsageError(`${source} must be an absolute URI without a fragment (RFC 8707); got ${JSON.stringify(cleanText(value).slice(0, 80))}`)
  return value
}

/** Scopes as given (repeatable flag, or a space-separated variable): split on whitespace, deduplicated. */
export function splitScopes(values: readonly unknown[]): string[] {
  return [
    ...new Set(
      values
        .map(String)
        .flatMap((v) => v.split(/\s+/))
        .filter(Boolean),
    ),
  ]
}

/** The token URL, checked against the https/loopback rule (exit 2) before any secret is sent. */
export function checkTokenUrl(raw: string, source: string): URL {
  const url = checkProviderUrl(raw, source)
  // The URL is kept in the config in clear text: credentials do not belong in it.
  if (url.username || url.password) {
    throw new UsageError(`${source} must not contain a user name or password`, { hint: 'pass the client as --client-id and --client-secret-stdin' })
  }
  // Nor does a secret in its query (an Azure Functions `?code=` key, an `api_key`): only its name is said.
  const secret = secretQueryParams(url)
  if (secret.length) {
    throw new UsageError(`${source} must not carry a secret in its query (${secret.map((n) => `${cleanText(n).slice(0, 40)}=`).join(', ')})`, {
      hint: 'authctl keeps the token URL in clear text: use a token URL without it, and pass the client as --client-id and --client-secret-stdin',
    })
  }
  return url
}

/** Settings of a resolved credential (stored login or environment). */
export function settingsOf(cred: Credential): OAuth2Settings {
  const d = cred.data
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined)
  const scopes = Array.isArray(d.scopes) ? d.scopes.map(String) : []
  const grant: Grant = cred.kind === KIND.refresh_token ? 'refresh_token' : 'client_credentials'
  return {
    tokenUrl: String(d.tokenUrl ?? ''),
    clientId: String(d.clientId ?? ''),
    scopes,
    ...(str(d.audience) ? { audience: str(d.audience) as string } : {}),
    ...(str(d.resource) ? { resource: str(d.resource) as string } : {}),
    auth: d.auth === 'body' ? 'body' : 'basic',
    envPrefix: str(d.envPrefix) ?? DEFAULT_PREFIX,
    grant,
  }
}

/** The non-secret `data` a login stores for these settings. */
export function dataOf(s: OAuth2Settings): Record<string, unknown> {
  const data: Record<string, unknown> = { tokenUrl: s.tokenUrl, clientId: s.clientId, scopes: [...s.scopes], auth: s.auth }
  if (s.audience) data.audience = s.audience
  if (s.resource) data.resource = s.resource
  if (s.envPrefix !== DEFAULT_PREFIX) data.envPrefix = s.envPrefix
  return data
}

/**
 * The CI credential: OAUTH2_TOKEN_URL, OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET (client
 * credentials), optional OAUTH2_SCOPE, OAUTH2_AUDIENCE, OAUTH2_RESOURCE, OAUTH2_AUTH. Values are
 * checked when a token is requested, so that `status` never fails on them.
 */
export function credentialFromEnv(env: Readonly<Record<string, string | undefined>>): Credential | undefined {
  const tokenUrl = env[ENV.tokenUrl]
  const clientId = env[ENV.clientId]
  const secret = env[ENV.clientSecret]
  if (!tokenUrl || !clientId || !secret) return undefined
  const data: Record<string, unknown> = { tokenUrl, clientId, scopes: splitScopes([env[ENV.scope] ?? '']), auth: env[ENV.auth] || 'basic' }
  if (env[ENV.audience]) data.audience = env[ENV.audience]
  if (env[ENV.resource]) data.resource = env[ENV.resource]
  // The cache key of an environment credential comes from its secret fields: binding the client,
  // endpoint and request parameters in means another client, server or audience never gets this
  // token (two clients may share a secret).
  const binding = createHash('sha256')
    .update(JSON.stringify([tokenUrl, clientId, data.scopes, data.audience, data.resource, data.auth]))
    .digest('hex')
  return { kind: KIND.client_credentials, source: 'environment', secret: { clientSecret: secret, binding }, data }
}

/** Checks the values that came from the environment (exit 2 naming the variable). */
export function checkEnvSettings(cred: Credential): void {
  if (cred.source !== 'environment') return
  checkAuthMethod(String(cred.data.auth), ENV.auth)
  if (typeof cred.data.resource === 'string') checkResource(cred.data.resource, ENV.resource)
}
