import type { Dispatcher } from 'undici'
import { ProviderHttpError, UsageError } from '../kernel/errors.js'
import { redactUrl } from '../kernel/redact.js'

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  url: string
  headers?: Record<string, string>
  body?: string
}

export interface HttpResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>
  close(): Promise<void>
}

export interface HttpClientOptions {
  /** Per-attempt timeout (connect + headers + body). */
  timeoutMs: number
  /** Retries after the first attempt for transient failures. */
  retries?: number
  env: Readonly<Record<string, string | undefined>>
  debug(line: string): void
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>
}

/** Bodies larger than this are refused: no auth endpoint answers with megabytes. */
export const MAX_BODY_BYTES = 1024 * 1024
/** Longest Retry-After we will sit through; a longer one fails at once with the wait named. */
export const MAX_RETRY_AFTER_MS = 60_000
const TRANSIENT_STATUS = new Set([429, 502, 503, 504])

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname.toLowerCase())
}

/** The next step for a bad URL: a variable is fixed or unset, a flag or an answer given again. */
const fixHint = (source: string) => (/^[A-Z][A-Z0-9_]*$/.test(source) ? `fix or unset ${source}` : `give ${source} again`)

/**
 * Validates a provider URL before any secret is sent: https anywhere, http only on loopback
 * (the emulators), anything else is a usage error (exit 2). `source` names the variable, flag
 * or prompt the value came from.
 */
export function checkProviderUrl(raw: string, source: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`${source} is not a valid URL: ${JSON.stringify(redactUrl(raw).slice(0, 200))}`, { hint: fixHint(source) })
  }
  if (url.protocol === 'https:') return url
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url
  throw new UsageError(`${source} must be an https:// URL (http:// is allowed only for 127.0.0.1, localhost and [::1]); got ${redactUrl(raw)}`, {
    hint: fixHint(source),
  })
}

/**
 * A proxy variable's value, checked: undici needs `http://` or `https://` in front, and without
 * it every request failed with exit 1. Exit 2 with the fix instead (the value is redacted).
 */
export function checkProxyUrl(raw: string, variable: string): string {
  let ok = false
  try {
    const url = new URL(raw)
    ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    ok = false
  }
  if (ok) return raw
  throw new UsageError(`${variable} is not a proxy URL with a scheme: ${redactUrl(raw)}`, {
    hint: `write it as http://HOST:PORT (or http://user:password@HOST:PORT), e.g. ${variable}=http://proxy.example.com:3128`,
  })
}

/** Parses Retry-After (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The first retry's backoff; AUTHCTL_RETRY_BASE_MS changes it (a tuning knob; the tests set a few ms). */
export const RETRY_BASE_MS = 250

/** AUTHCTL_RETRY_BASE_MS in ms, clamped to 1–10 000; unset or empty: 250. Not a number: exit 2. */
export function retryBaseMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.AUTHCTL_RETRY_BASE_MS
  if (raw === undefined || raw.trim() === '') return RETRY_BASE_MS
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new UsageError(`AUTHCTL_RETRY_BASE_MS=${JSON.stringify(raw)} is not a number of milliseconds`)
  return Math.min(10_000, Math.max(1, Math.round(n)))
}

/** Exponential backoff with full jitter: 250 ms, 500 ms, 1 s … capped at 4 s (16 × the base). */
export function backoffMs(attempt: number, baseMs = RETRY_BASE_MS): number {
  const cap = Math.min(16 * baseMs, baseMs * 2 ** attempt)
  return cap / 2 + Math.random() * (cap / 2)
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ABORT_TIMEOUT',
])

function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

class AttemptTimeout extends Error {
  readonly code = 'ABORT_TIMEOUT'
}

type UndiciResponse = Awaited<ReturnType<typeof import('undici').request>>

/** The whole answer, refused once it passes MAX_BODY_BYTES (the request is aborted). */
async function readResponse(res: UndiciResponse, url: URL, ac: AbortController): Promise<HttpResponse> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) {
      ac.abort(new Error('too large'))
      throw new ProviderHttpError(`${url.host} sent a response larger than ${MAX_BODY_BYTES / 1024} KiB`, {
        status: res.statusCode,
        hint: 'check the endpoint URL; this is not an auth API response',
      })
    }
    chunks.push(chunk as Buffer)
  }
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(res.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v)
  }
  return { status: res.statusCode, headers, body: Buffer.concat(chunks).toString('utf8') }
}

/** How long to wait before retry `n`: the backoff, or the server's Retry-After (429/503); too long a one is exit 5. */
function retryWaitMs(n: number, baseMs: number, res: HttpResponse | undefined, url: URL): number {
  if (res?.status !== 429 && res?.status !== 503) return backoffMs(n, baseMs)
  const ra = parseRetryAfter(res.headers['retry-after'])
  if (ra === undefined) return backoffMs(n, baseMs)
  if (ra > MAX_RETRY_AFTER_MS) {
    throw new ProviderHttpError(`${url.host} is rate limiting (HTTP ${res.status}); it asks to wait ${Math.ceil(ra / 1000)} s`, {
      status: res.status,
      hint: 'try again later',
    })
  }
  return ra
}

/** The direct agent, and a proxy agent when a proxy variable is set (checked first: exit 2 without a scheme). */
function agents(
  undici: typeof import('undici'),
  opts: HttpClientOptions,
): { direct: Dispatcher & { close(): Promise<void> }; proxied?: Dispatcher & { close(): Promise<void> } } {
  const direct = new undici.Agent({ keepAliveTimeout: 1000, connect: { timeout: opts.timeoutMs } })
  const proxyVars = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']
  for (const v of proxyVars) if (opts.env[v]) checkProxyUrl(opts.env[v] as string, v)
  if (!proxyVars.some((v) => opts.env[v])) return { direct }
  const proxied = new undici.EnvHttpProxyAgent({
    httpsProxy: opts.env.HTTPS_PROXY || opts.env.https_proxy,
    httpProxy: opts.env.HTTP_PROXY || opts.env.http_proxy,
    noProxy: opts.env.NO_PROXY ?? opts.env.no_proxy,
  })
  return { direct, proxied }
}

/** One attempt, its own timeout covering connect, headers and body. */
async function attempt(undici: typeof import('undici'), dispatcher: Dispatcher, req: HttpRequest, url: URL, timeoutMs: number): Promise<HttpResponse> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(new AttemptTimeout('timeout')), timeoutMs)
  try {
    const res = await undici.request(url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      dispatcher,
      signal: ac.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    return await readResponse(res, url, ac)
  } catch (err) {
    if (ac.signal.aborted && ac.signal.reason instanceof AttemptTimeout) throw ac.signal.reason
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/**
 * An undici-backed client with per-request timeouts, bounded retries for transient failures
 * (connect errors, timeouts, 429, 502/503/504) and a response size cap. Non-2xx answers are
 * returned, not thrown: each adapter knows its provider's error shape.
 */
export async function createHttpClient(opts: HttpClientOptions): Promise<HttpClient> {
  const undici = await import('undici')
  const retries = opts.retries ?? 3
  const baseMs = retryBaseMs(opts.env)
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const { direct, proxied } = agents(undici, opts)

  return {
    async request(req) {
      const url = new URL(req.url)
      const shown = `${req.method} ${redactUrl(req.url)}`
      for (let n = 0; ; n++) {
        const t0 = Date.now()
        let res: HttpResponse | undefined
        let failure: unknown
        try {
          // Loopback never goes through a proxy: a proxy cannot reach this machine's 127.0.0.1.
          const dispatcher: Dispatcher = proxied && !isLoopbackHost(url.hostname) ? proxied : direct
          res = await attempt(undici, dispatcher, req, url, opts.timeoutMs)
          opts.debug(`${shown} -> ${res.status} (${Date.now() - t0} ms)`)
        } catch (err) {
          if (err instanceof ProviderHttpError) throw err
          failure = err
          opts.debug(`${shown} -> ${errorCode(err) ?? 'error'} (${Date.now() - t0} ms)`)
        }
        const transient = res ? TRANSIENT_STATUS.has(res.status) : TRANSIENT_CODES.has(errorCode(failure) ?? '')
        if (!transient) {
          if (res) return res
          throw networkError(url, failure)
        }
        const waitMs = retryWaitMs(n, baseMs, res, url)
        if (n >= retries) {
          if (res) return res
          throw networkError(url, failure, n + 1)
        }
        opts.debug(`retrying in ${Math.round(waitMs)} ms (retry ${n + 1} of ${retries})`)
        await sleep(waitMs)
      }
    },
    async close() {
      await Promise.all([direct.close(), proxied?.close()])
    },
  }
}

function networkError(url: URL, err: unknown, attempts?: number): ProviderHttpError {
  const code = errorCode(err)
  const after = attempts ? ` after ${attempts} attempts` : ''
  const what =
    code === 'ABORT_TIMEOUT' || code?.includes('TIMEOUT')
      ? 'timed out'
      : code === 'ECONNREFUSED'
        ? 'refused the connection'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'could not be resolved'
          : `failed (${code ?? (err as Error)?.message ?? 'unknown error'})`
  return new ProviderHttpError(`request to ${url.host} ${what}${after}`, {
    hint:
      code?.includes('TIMEOUT') || code === 'ABORT_TIMEOUT'
        ? 'check the network, or raise AUTHCTL_TIMEOUT (seconds)'
        : 'check the network, proxy settings and the endpoint URL',
    cause: err,
  })
}

/** Parses a JSON body or throws a one-line "malformed response" error (exit 5). */
export function parseJsonBody(res: HttpResponse, what: string): unknown {
  try {
    return JSON.parse(res.body)
  } catch {
    const looksHtml = /^\s*</.test(res.body)
    throw new ProviderHttpError(`${what}: malformed response (HTTP ${res.status}, ${looksHtml ? 'an HTML page' : 'not JSON'})`, {
      status: res.status,
      body: res.body,
      hint: 'the provider or a proxy answered with something unexpected; try again, or check the endpoint URL',
    })
  }
}
