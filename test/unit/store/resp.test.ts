import { type AddressInfo, createServer, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { awaiting, connectResp, encodeCommand, MAX_REPLY_BYTES, parseReply, RedisReplyError } from '../../../src/store/resp.js'
import { connectRedis } from '../../../src/store/redis.js'
import { parseRedisUrl } from '../../../src/store/shared.js'

const b = (s: string) => Buffer.from(s, 'utf8')

/** A TCP server that answers every connection with `reply(data)` (or nothing). */
async function server(reply: (socket: Socket, data: Buffer) => void, once = false): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const srv = createServer((s) => {
    sockets.add(s)
    s.setNoDelay(true)
    s[once ? 'once' : 'on']('data', (d) => reply(s, d))
    s.on('error', () => {})
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return {
    port: (srv.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        srv.close(() => r())
      }),
  }
}
const target = (port: number) => ({ host: '127.0.0.1', port, tls: false })

describe('RESP2 replies', () => {
  it('parses every reply type and says where the next one starts', () => {
    expect(parseReply(b('+OK\r\n'))).toEqual({ value: 'OK', next: 5 })
    expect(parseReply(b(':42\r\n'))).toEqual({ value: 42, next: 5 })
    expect(parseReply(b('$-1\r\n'))).toEqual({ value: null, next: 5 })
    expect(parseReply(b('$4\r\nhé!\r\n+OK\r\n'))).toEqual({ value: 'hé!', next: 10 })
    expect(parseReply(b('$0\r\n\r\n'))).toEqual({ value: '', next: 6 })
    const err = parseReply(b('-WRONGPASS invalid username-password pair\r\n'))?.value
    expect(err).toBeInstanceOf(RedisReplyError)
    expect((err as Error).message).toBe('WRONGPASS invalid username-password pair')
  })

  it('a reply split anywhere is incomplete until its last byte arrives', () => {
    for (const whole of ['$5\r\nab\r\nc\r\n', ':-17\r\n', '+OK\r\n', '$2\r\né\r\n']) {
      for (let cut = 0; cut < Buffer.byteLength(whole); cut++)
        expect(parseReply(b(whole).subarray(0, cut)), `${JSON.stringify(whole)} cut at ${cut}`).toBeUndefined()
      expect(parseReply(b(whole))?.next).toBe(Buffer.byteLength(whole))
    }
  })

  it('replies in pieces of every size reach their commands whole and in order', async () => {
    const big = 'x'.repeat(40_000)
    const replies = Buffer.from(`+OK\r\n$8\r\nv\r\né€\r\n:42\r\n$-1\r\n-ERR nope\r\n$${big.length}\r\n${big}\r\n`)
    for (const size of [1, 2, 3, 7, 256, 65_536]) {
      const srv = await server((s) => {
        for (let at = 0; at < replies.length; at += size) s.write(replies.subarray(at, at + size))
      }, true)
      try {
        const conn = await connectResp(target(srv.port), 10_000)
        const got = await Promise.all([1, 2, 3, 4, 5, 6].map(() => conn.command(['PING']).catch((e: Error) => `error: ${e.message}`)))
        conn.close()
        expect(got.slice(0, 5), `pieces of ${size}`).toEqual(['OK', 'v\r\né€', 42, null, 'error: ERR nope'])
        expect(got[5] === big, `pieces of ${size}: the 40 kB value`).toBe(true)
      } finally {
        await srv.close()
      }
    }
  })

  it('a bulk string may hold CR LF; its length decides', () => {
    expect(parseReply(b('$4\r\na\r\nb\r\n'))?.value).toBe('a\r\nb')
  })

  it('refuses loose numbers, a bulk string not followed by CR LF, and nested or long arrays', () => {
    for (const bad of [':\r\n', '$\r\n', ':0x3\r\n', ': 1\r\n', '$1e0\r\na\r\n', '$1\r\nabXY+OK\r\n'])
      expect(() => parseReply(b(bad)), JSON.stringify(bad)).toThrow(/malformed/)
    // No command authctl sends gets an array back: one is refused, however it is built.
    for (const arr of ['*1\r\n'.repeat(10), '*2\r\n:1\r\n:2\r\n', '*-1\r\n']) expect(() => parseReply(b(arr))).toThrow(/array/)
  })

  it("an incomplete reply says what it waits for: the bulk string's whole length, or a line end", () => {
    expect(awaiting(b('$10\r\nabc'))).toBe(5 + 10 + 2)
    expect(awaiting(b('+PON'))).toBe('newline')
    expect(awaiting(b('$1'))).toBe('newline')
  })

  it('refuses what is not RESP, and lengths that would buffer without bound', () => {
    expect(() => parseReply(b('HTTP/1.1 400\r\n'))).toThrow(/not RESP/)
    expect(() => parseReply(b(`$${MAX_REPLY_BYTES + 1}\r\n`))).toThrow(/oversized/)
    expect(() => parseReply(b('$abc\r\n'))).toThrow(/malformed/)
  })

  it('commands are arrays of bulk strings, lengths in bytes', () => {
    expect(encodeCommand(['SET', 'k', 'é', 'PX', 5]).toString()).toBe('*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$2\r\nPX\r\n$1\r\n5\r\n')
  })
})

describe('AUTHCTL_CACHE URLs', () => {
  it('host, port, database, user and password (percent-decoded), TLS for rediss://', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ host: '127.0.0.1', port: 6380, tls: false, db: 2 })
    expect(parseRedisUrl('rediss://ci:p%40ss%3Aw@redis.internal')).toEqual({
      host: 'redis.internal',
      port: 6379,
      tls: true,
      username: 'ci',
      password: 'p@ss:w',
    })
    expect(parseRedisUrl('redis://:secret@[::1]:7000/0')).toEqual({ host: '::1', port: 7000, tls: false, password: 'secret', db: 0 })
  })

  it('the query may carry password, username, db and family; the URL parts win', () => {
    expect(parseRedisUrl('redis://h/?password=q&username=u&db=3&family=6')).toEqual({
      host: 'h',
      port: 6379,
      tls: false,
      username: 'u',
      password: 'q',
      db: 3,
      family: 6,
    })
    expect(parseRedisUrl('redis://:a@h/1?password=q&db=3')).toMatchObject({ password: 'a', db: 1 })
  })

  it('a database that is not a number, or another scheme, is an error', () => {
    expect(() => parseRedisUrl('redis://h/zero')).toThrow(/must be a number/)
    expect(() => parseRedisUrl('http://h/0')).toThrow(/redis:\/\//)
  })
})

describe('a hostile or broken server', () => {
  it.each([
    ['garbage instead of RESP', (s: Socket) => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'), /not RESP/],
    ['a reply larger than the limit', (s: Socket) => s.write(`$${MAX_REPLY_BYTES * 2}\r\n`), /oversized/],
    ['a line that never ends', (s: Socket) => s.write(`+${'x'.repeat(MAX_REPLY_BYTES + 100)}`), /oversized/],
    ['nothing at all', () => {}, /no answer within 1000 ms/],
    ['hanging up', (s: Socket) => s.destroy(), /closed|ECONNRESET/],
  ])('%s: the command fails with a reason, and the connection is closed', async (_name, reply, reason) => {
    const srv = await server(reply)
    try {
      const conn = await connectResp(target(srv.port), 1000)
      await expect(conn.command(['PING'])).rejects.toThrow(reason)
      await expect(conn.command(['PING'])).rejects.toThrow() // no use after that
    } finally {
      await srv.close()
    }
  })

  it('two replies to one command: the first answers it, the second fails the connection', async () => {
    const srv = await server((s) => s.write('+PONG\r\n+PONG\r\n'))
    try {
      const conn = await connectResp(target(srv.port), 1000)
      expect(await conn.command(['PING'])).toBe('PONG')
      await expect(conn.command(['PING'])).rejects.toThrow(/nobody asked/)
    } finally {
      await srv.close()
    }
  })

  it('a server that repeats the password in an error: the message shows *** instead', async () => {
    const srv = await server((s) => s.write("-ERR unknown command 'AUTH', with args beginning with: 'hunter2-secret' \r\n"))
    try {
      const err = await connectRedis(`redis://:hunter2-secret@127.0.0.1:${srv.port}/0`, 1000).catch((e: Error) => e)
      expect(String(err)).toMatch(/connect failed \(ERR unknown command 'AUTH', with args beginning with: '\*\*\*'/)
      expect(String(err)).not.toContain('hunter2')
    } finally {
      await srv.close()
    }
  })

  it('a server that accepts but never finishes the TLS handshake: connect fails within the timeout', async () => {
    const srv = await server(() => {})
    try {
      const t0 = Date.now()
      await expect(connectResp({ ...target(srv.port), tls: true }, 200)).rejects.toThrow(/connect timed out after 200 ms/)
      expect(Date.now() - t0).toBeLessThan(2000)
    } finally {
      await srv.close()
    }
  })
})
