import { connect as netConnect, isIP, type Socket } from 'node:net'
import type { RedisTarget } from './shared.js'

/**
 * A minimal Redis client for the shared cache: RESP2 over one TCP or TLS connection, commands
 * sent in order and answered in order, a deadline on connecting and on every command. It is all
 * the shared cache needs (AUTH, SELECT, PING, GET, SET, EVAL). ioredis did the same in 180 ms of
 * CPU per process just to load (it defines ~500 command methods at start-up), which every
 * `authctl token` of a fleet paid, cached or not.
 */

export type Reply = string | number | null

/** An error reply of the server (`-ERR …`, `-WRONGPASS …`). */
export class RedisReplyError extends Error {}

/** Largest reply accepted: entries are sealed tokens of a few kB; a flood is an error, not memory. */
export const MAX_REPLY_BYTES = 1024 * 1024

/** One RESP2 reply from `buf` at `at`: the value and where the next one starts, or undefined if incomplete. */
export function parseReply(buf: Buffer, at = 0): { value: Reply | RedisReplyError; next: number } | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const line = buf.toString('utf8', at + 1, eol)
  const next = eol + 2
  switch (buf[at]) {
    case 0x2b: // +
      return { value: line, next }
    case 0x2d: // -
      return { value: new RedisReplyError(line), next }
    case 0x3a: // :
      return { value: integer(line), next }
    case 0x24: // $
      return bulk(buf, integer(line), next)
    case 0x2a: // *
      throw new Error('the server sent an array (none of the commands authctl sends gets one)')
    default:
      throw new Error('the server sent something that is not RESP')
  }
}

/** A RESP integer: digits with an optional minus, nothing else (Number() would take '', '0x3', ' 1e0'). */
function integer(line: string): number {
  if (!/^-?\d{1,15}$/.test(line)) throw new Error('the server sent a malformed reply')
  return Number(line)
}

function bulk(buf: Buffer, len: number, at: number): { value: string | null; next: number } | undefined {
  if (len === -1) return { value: null, next: at }
  if (len < 0 || len > MAX_REPLY_BYTES) throw new Error('the server sent a malformed or oversized reply')
  if (buf.length < at + len + 2) return undefined
  if (buf[at + len] !== 0x0d || buf[at + len + 1] !== 0x0a) throw new Error('the server sent a malformed reply')
  return { value: buf.toString('utf8', at, at + len), next: at + len + 2 }
}

/**
 * What an incomplete reply at the start of `buf` waits for, so that a reply arriving in many
 * small pieces is neither joined nor parsed again for each: a bulk string's whole length in
 * bytes, or else a line end.
 */
export function awaiting(buf: Buffer): number | 'newline' {
  const eol = buf.indexOf('\r\n')
  if (eol < 0 || buf[0] !== 0x24) return 'newline'
  const len = Number(buf.toString('latin1', 1, eol))
  return Number.isInteger(len) && len >= 0 ? eol + 2 + len + 2 : 'newline'
}

/** A command as RESP: an array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8')
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

interface Waiter {
  resolve(v: Reply): void
  reject(e: Error): void
}

/** One connection; every command answers or fails within `timeoutMs`. */
export class RespConnection {
  /** Received bytes of replies not yet complete, and what they wait for (see `awaiting`). */
  private pending: Buffer[] = []
  private pendingBytes = 0
  private wait: number | 'newline' = 'newline'
  private readonly waiting: Waiter[] = []
  private failed?: Error

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d))
    socket.on('error', (e) => this.fail(e))
    socket.on('close', () => this.fail(new Error('the connection closed')))
  }

  command(args: ReadonlyArray<string | number>): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed)
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs)
      this.waiting.push({
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.socket.write(encodeCommand(args))
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private onData(d: Buffer): void {
    this.pending.push(d)
    this.pendingBytes += d.length
    try {
      if (this.pendingBytes > MAX_REPLY_BYTES + 64) throw new Error('the server sent an oversized reply')
      // Not yet what the buffered reply waits for: neither join the pieces nor parse again.
      if (this.wait === 'newline' ? !d.includes(0x0a) : this.pendingBytes < this.wait) return
      let buf = this.pending.length === 1 ? d : Buffer.concat(this.pending)
      for (let r = parseReply(buf); r; r = buf.length ? parseReply(buf) : undefined) {
        buf = buf.subarray(r.next)
        const w = this.waiting.shift()
        if (!w) throw new Error('the server sent a reply nobody asked for')
        if (r.value instanceof RedisReplyError) w.reject(r.value)
        else w.resolve(r.value)
      }
      this.pending = buf.length ? [buf] : []
      this.pendingBytes = buf.length
      this.wait = buf.length ? awaiting(buf) : 'newline'
    } catch (err) {
      this.fail(err as Error)
    }
  }

  /** Fails every waiting command and the connection (a reply stream out of step is useless). */
  private fail(err: Error): void {
    this.failed ??= err
    for (const w of this.waiting.splice(0)) w.reject(this.failed)
    this.socket.destroy()
  }
}

/** Connects, authenticates and selects the database, all within `timeoutMs`. */
export async function connectResp(target: RedisTarget, timeoutMs: number): Promise<RespConnection> {
  const socket = await openSocket(target, timeoutMs)
  socket.setNoDelay(true) // AUTH, SELECT and PING go out at once, not after a round trip
  const conn = new RespConnection(socket, timeoutMs)
  const setup: Array<Promise<unknown>> = []
  // A user name alone is a `nopass` ACL user (AUTH with an empty password, as ioredis did). A
  // password given to a Redis that has none is not an error (ioredis went on too).
  if (target.username) setup.push(conn.command(['AUTH', target.username, target.password ?? '']))
  else if (target.password) setup.push(conn.command(['AUTH', target.password]).catch(noPasswordIsFine))
  if (target.db) setup.push(conn.command(['SELECT', target.db]))
  try {
    await Promise.all(setup)
  } catch (err) {
    conn.close()
    throw err
  }
  return conn
}

/** `AUTH pw` to a server without a password: Redis 6+ "…without any password configured", older "no password is set". */
function noPasswordIsFine(err: Error): void {
  if (!(err instanceof RedisReplyError && /without any password configured|no password is set/i.test(err.message))) throw err
}

async function openSocket(t: RedisTarget, timeoutMs: number): Promise<Socket> {
  const opts = { host: t.host, port: t.port, ...(t.family ? { family: t.family } : {}) }
  const socket = t.tls ? (await import('node:tls')).connect({ ...opts, ...(isIP(t.host) ? {} : { servername: t.host }) }) : netConnect(opts)
  return new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`connect timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once(t.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', (e) => {
      clearTimeout(timer)
      socket.destroy()
      reject(e)
    })
  })
}
