import { createHmac } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'

/** One request as the emulator saw it. */
export interface SeenRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: string
  at: number
}

/**
 * A fault to inject, consumed by matching requests (`times`, default 1). Models what real
 * providers and proxies do: error statuses, rate limits, slowness, garbage, dropped sockets.
 */
export interface Fault {
  /** Only requests whose path matches (substring or RegExp). Default: all. */
  path?: string | RegExp
  /** Only requests with this method. Default: all. */
  method?: string
  times?: number
  status?: number
  headers?: Record<string, string>
  body?: string
  /** Wait this long before answering (a timeout test sets more than AUTHCTL_TIMEOUT). */
  delayMs?: number
  /** Close the socket without answering. */
  destroy?: boolean
  /** Send this many bytes of filler as the body (a huge-body test). */
  bodyBytes?: number
  /** Declare a longer Content-Length than sent, then close (a truncated body). */
  truncate?: boolean
  /** After `delayMs`, answer normally (a slow but working provider). */
  passThrough?: boolean
}

export type Handler = (req: SeenRequest, res: Reply) => void | Promise<void>

/**
 * "Hostile" mode: what a compromised or broken server (or a proxy in between) could send.
 * Applied to every JSON answer; unset fields leave answers alone.
 */
export interface Hostile {
  /** Appended to every human-readable string (errors, names, emails, descriptions). */
  text?: string
  /** Replaces every token, key or refresh token the server hands out. */
  token?: string
  /** Replaces `expires_in` (and Lucid's absolute `expires`) in token answers. */
  expiresIn?: unknown
  /** The `exp` claim of JWTs issued from now on (emulators that issue JWTs read it). */
  jwtExp?: unknown
}

/** Keys whose string values are human-readable text in some provider's answers. */
const TEXT_KEYS = new Set(['error_description', 'message', 'errors', 'detail', 'email', 'name', 'description', 'username', 'fullName', 'errorSummary'])
/** Keys whose values are secrets handed to the client. */
const TOKEN_KEYS = new Set(['access_token', 'token', 'token_access', 'refresh_token', 'key', 'data'])

/** `body` as a hostile server would send it. */
export function hostilize(body: unknown, h: Hostile, key = ''): unknown {
  if (typeof body === 'string') {
    if (h.token !== undefined && TOKEN_KEYS.has(key)) return h.token
    return h.text !== undefined && TEXT_KEYS.has(key) ? `${body}${h.text}` : body
  }
  if (Array.isArray(body)) return body.map((v) => hostilize(v, h, key))
  if (body && typeof body === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(body)) {
      out[k] = (k === 'expires_in' || k === 'expires') && h.expiresIn !== undefined && typeof v === 'number' ? h.expiresIn : hostilize(v, h, k)
    }
    return out
  }
  return body
}

export interface Reply {
  json(status: number, body: unknown, headers?: Record<string, string>): void
  empty(status: number): void
  text(status: number, body: string, contentType?: string): void
  redirect(location: string): void
}

export interface Emulator {
  url: string
  port: number
  requests: SeenRequest[]
  faults: Fault[]
  /** Hostile mode settings; empty = a well-behaved server. */
  hostile: Hostile
  /** Requests whose path contains `part` (and method, if given). */
  count(part: string | RegExp, method?: string): number
  close(): Promise<void>
}

function matches(path: string, pattern: string | RegExp | undefined): boolean {
  if (pattern === undefined) return true
  return typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path)
}

async function applyFault(f: Fault, res: ServerResponse): Promise<void> {
  if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs))
  if (f.destroy) {
    res.socket?.destroy()
    return
  }
  const headers = { 'content-type': 'application/json', ...f.headers }
  if (f.bodyBytes) {
    res.writeHead(f.status ?? 200, { ...headers, 'content-length': String(f.bodyBytes) })
    const chunk = Buffer.alloc(64 * 1024, 'x')
    let left = f.bodyBytes
    while (left > 0) {
      const part = chunk.subarray(0, Math.min(left, chunk.length))
      left -= part.length
      if (!res.write(part)) await new Promise((r) => res.once('drain', r))
      if (res.destroyed) return
    }
    res.end()
    return
  }
  const body = f.body ?? (f.status && f.status >= 400 ? JSON.stringify({ error: 'injected', error_description: `injected ${f.status}` }) : '')
  if (f.truncate) {
    res.writeHead(f.status ?? 200, { ...headers, 'content-length': String(body.length + 100) })
    res.write(body)
    res.socket?.destroy()
    return
  }
  res.writeHead(f.status ?? 200, headers)
  res.end(body)
}

/** A certificate for an https emulator (PEM). */
export interface TlsOptions {
  key: string
  cert: string
}

/** node:http (or node:https with `tls`) on 127.0.0.1, port 0; every request is recorded, faults are applied first. */
export async function startEmulator(handler: Handler, tls?: TlsOptions): Promise<Emulator> {
  const requests: SeenRequest[] = []
  const faults: Fault[] = []
  const hostile: Hostile = {}
  const listener = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      at: Date.now(),
    }
    requests.push(seen)
    const fault = faults.find((f) => matches(seen.path, f.path) && (!f.method || f.method === seen.method))
    if (fault) {
      fault.times = (fault.times ?? 1) - 1
      if (fault.times <= 0) faults.splice(faults.indexOf(fault), 1)
      if (!fault.passThrough) return applyFault(fault, res)
      await new Promise((r) => setTimeout(r, fault.delayMs ?? 0))
    }
    const reply: Reply = {
      json: (status, body, headers) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers })
        // A number like 1e999 cannot be JSON.stringify'd: hostile expiries are sent raw.
        const raw = typeof hostile.expiresIn === 'string' ? hostile.expiresIn : undefined
        const text = JSON.stringify(hostilize(body, hostile))
        res.end(raw === undefined ? text : text.replace(/"(expires_in|expires)":"[^"]*"/g, `"$1":${raw}`))
      },
      empty: (status) => {
        res.writeHead(status)
        res.end()
      },
      text: (status, body, contentType = 'text/plain') => {
        res.writeHead(status, { 'content-type': contentType })
        res.end(body)
      },
      redirect: (location) => {
        res.writeHead(302, { location })
        res.end()
      },
    }
    try {
      await handler(seen, reply)
    } catch (err) {
      reply.json(500, { error: 'emulator_bug', error_description: String(err) })
    }
  }
  const server = tls ? createHttpsServer(tls, listener) : createServer(listener)
  server.keepAliveTimeout = 500
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    faults,
    hostile,
    count: (part, method) => requests.filter((r) => matches(r.path, part) && (!method || r.method === method)).length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** An unsigned-but-well-formed JWT (HS256 over an emulator key) with the given claims. */
export function makeJwt(claims: Record<string, unknown>, key = 'emulator-key'): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const head = enc({ alg: 'HS256', typ: 'JWT', kid: 'emulator' })
  const body = enc(claims)
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}
