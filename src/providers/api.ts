import { ProviderHttpError, UsageError } from '../kernel/errors.js'
import { checkProviderUrl, parseJsonBody, type HttpRequest, type HttpResponse } from './http.js'
import type { ProviderContext } from './types.js'

/** A provider's base URL: its override variable (validated) or the default. */
export function baseUrl(ctx: ProviderContext, variable: string, fallback: string): string {
  const raw = ctx.env[variable] || fallback
  return checkProviderUrl(raw, ctx.env[variable] ? variable : `the default URL of ${variable}`)
    .toString()
    .replace(/\/+$/, '')
}

export interface ApiCall {
  method: HttpRequest['method']
  url: string
  headers?: Record<string, string>
  json?: unknown
}

/** Sends a JSON request; the response is returned whatever its status. */
export async function send(ctx: ProviderContext, call: ApiCall): Promise<HttpResponse> {
  const http = await ctx.http()
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers }
  let body: string | undefined
  if (call.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(call.json)
  }
  return http.request({ method: call.method, url: call.url, headers, ...(body === undefined ? {} : { body }) })
}

export { type ErrorReader, type FailureContext, failure } from './kit/failure.js'

/** Parses a 2xx JSON body that must be an object (or an array when `array`). */
export function jsonObject(res: HttpResponse, what: string): Record<string, unknown> {
  const body = parseJsonBody(res, what)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProviderHttpError(`${what}: malformed response (not a JSON object)`, { status: res.status, hint: 'try again, or check the endpoint URL' })
  }
  return body as Record<string, unknown>
}

export function jsonArray(res: HttpResponse, what: string): unknown[] {
  const body = parseJsonBody(res, what)
  if (!Array.isArray(body)) {
    throw new ProviderHttpError(`${what}: malformed response (not a JSON array)`, { status: res.status, hint: 'try again, or check the endpoint URL' })
  }
  return body
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined
}

/** ISO-8601 date-time in the future, or exit 2. */
export function parseIsoDate(value: string, flag: string, now: number): string {
  const t = Date.parse(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) {
    throw new UsageError(`${flag} must be an ISO-8601 date like 2027-01-31 or 2027-01-31T12:00:00Z; got ${JSON.stringify(value.slice(0, 60))}`)
  }
  if (t <= now) throw new UsageError(`${flag} ${value} is in the past`)
  return new Date(t).toISOString()
}

/**
 * `login … --expires DATE|never` for a key or token made in a provider's UI: `{ expiresAt }`
 * to merge into the login's data (null for `never`: known never to expire; nothing without the
 * flag: unknown). Exit 2 when `allowed` is false (the flag was given to a login that stores no
 * such key).
 */
export function loginExpiry(o: Readonly<Record<string, unknown>>, now: number, allowed: boolean, flag: string): { expiresAt?: string | null } {
  const v = str(o.expires)
  if (v === undefined) return {}
  if (!allowed) throw new UsageError(`--expires goes with ${flag}: it records when that key or token expires`)
  return v === 'never' ? { expiresAt: null } : { expiresAt: parseIsoDate(v, '--expires', now) }
}

/** A stored key's recorded expiry as StoredKey fields: a date, null for never, absent for unknown. */
export function storedExpiry(v: unknown): { expiresAt?: string; never?: true } {
  if (typeof v === 'string' && v) return { expiresAt: v }
  return v === null ? { never: true } : {}
}

/** The date part of an ISO-8601 string, for messages. */
export function isoDay(iso: string): string {
  return iso.slice(0, 10)
}
