import { spawn, type ChildProcess } from 'node:child_process'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectResp, parseReply } from '../../../src/store/resp.js'
import { connectRedis } from '../../../src/store/redis.js'
import { parseRedisUrl, redactRedisUrl } from '../../../src/store/shared.js'

const b = (s: string) => Buffer.from(s, 'utf8')
const log = (...a: unknown[]) => console.log('REVIEW', ...a)

async function server(reply: (socket: Socket, data: Buffer) => void) {
  const sockets = new Set<Socket>()
  const srv = createServer((s) => {
    sockets.add(s)
    s.setNoDelay(true)
    s.on('data', (d) => reply(s, d))
    s.on('error', () => {})
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()) }),
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('parser', () => {
  it('lenient numbers / missing CRLF after bulk / error in array', () => {
    log('$\\r\\n\\r\\n ->', JSON.stringify(parseReply(b('$\r\n\r\n'))))
    log(':\\r\\n ->', JSON.stringify(parseReply(b(':\r\n'))))
    log('$0x3 ->', JSON.stringify(parseReply(b('$0x3\r\nabc\r\n'))))
    log('$1e0 ->', JSON.stringify(parseReply(b('$1e0\r\na\r\n'))))
    log('$1 no CRLF ->', JSON.stringify(parseReply(b('$1\r\nabXY+OK\r\n'))))
    try { parseReply(b('*2\r\n-ERR inner\r\n')) } catch (e) { log('error in incomplete array ->', (e as Error).constructor.name, (e as Error).message) }
    const deep = Buffer.from('*1\r\n'.repeat(200000) + ':1\r\n')
    try { parseReply(deep) } catch (e) { log('deep ->', (e as Error).message) }
  })
})

describe('hostile server', () => {
  it('deep nesting on a live connection', async () => {
    const srv = await server((s) => s.write('*1\r\n'.repeat(250000)))
    try {
      const conn = await connectResp({ host: '127.0.0.1', port: srv.port, tls: false }, 1000)
      const t0 = Date.now()
      await conn.command(['PING']).then((v) => log('deep resolved', v), (e) => log('deep rejected', e.message, Date.now() - t0, 'ms'))
    } finally { await srv.close() }
  })

  it('trickled 1 MiB array: CPU time', async () => {
    const item = '$1000\r\n' + 'x'.repeat(1000) + '\r\n'
    const whole = Buffer.from('*1024\r\n' + item.repeat(1020))
    const srv = await server(async (s) => {
      for (let i = 0; i < whole.length && !s.destroyed; i += 256) { s.write(whole.subarray(i, i + 256)); await new Promise((r) => setImmediate(r)) }
    })
    try {
      const conn = await connectResp({ host: '127.0.0.1', port: srv.port, tls: false }, 60000)
      const c0 = process.cpuUsage(); const t0 = Date.now()
      await conn.command(['PING']).then(() => log('trickle resolved'), (e) => log('trickle rejected', e.message))
      const c = process.cpuUsage(c0)
      log('trickle wall', Date.now() - t0, 'ms, cpu', Math.round((c.user + c.system) / 1000), 'ms')
    } finally { await srv.close() }
  })

  it('a server that echoes the command back (misconfigured port / proxy)', async () => {
    const srv = await server((s, d) => s.write(d))
    try {
      const cache = await connectRedis(`redis://:hunter2-secret@127.0.0.1:${srv.port}/3`, 1000)
      log('echo server: connected!', cache.display)
      await cache.get('k').then((v) => log('get', v), (e) => log('get err', e.message))
      await cache.close()
    } catch (e) { log('echo err', (e as Error).message) } finally { await srv.close() }
  })

  it('a server that answers AUTH with an error echoing its args', async () => {
    const srv = await server((s, d) => {
      const args = d.toString().split('\r\n').filter((_, i) => i > 0 && i % 2 === 0)
      s.write(`-ERR unknown command '${args[0]}', with args beginning with: '${args[1]}' \r\n`)
    })
    try { await connectRedis(`redis://:hunter2-secret@127.0.0.1:${srv.port}`, 1000) } catch (e) { log('echo-err', (e as Error).message) } finally { await srv.close() }
  })

  it('connection refused on localhost (two address families)', async () => {
    try { await connectRedis('redis://localhost:1', 1000) } catch (e) { log('refused ->', (e as Error).message) }
  })

  it('handles left after failures', async () => {
    const srv = await server(() => {})
    const before = (process as any)._getActiveHandles().length
    await connectRedis(`redis://:pw@127.0.0.1:${srv.port}/2`, 300).catch((e) => log('silent', e.message))
    await sleep(50)
    log('handles before/after silent server', before, (process as any)._getActiveHandles().length)
    await srv.close()
  })
})

describe('urls', () => {
  it('differences', () => {
    for (const u of ['redis://ci@h', 'redis://ci:@h', 'redis://:p%zz@h', 'redis://:x@y/z@host', 'redis://h/0?password=a+b', 'redis://[fe80::1%25eth0]:6379']) {
      try { log(u, '->', JSON.stringify(parseRedisUrl(u)), redactRedisUrl(u)) } catch (e) { log(u, '-> throws', (e as Error).message) }
    }
    for (const u of ['redis://:ab/cd+ef=@h:6379/0', 'redis://:ab#c@h', 'redis://:12?x@h']) {
      try { new URL(u); log(u, 'URL ok', JSON.stringify(parseRedisUrl(u)), redactRedisUrl(u)) } catch (e) { log(u, '-> URL throws', (e as Error).message) }
    }
  })
})

describe('real redis', () => {
  const procs: ChildProcess[] = []
  const start = async (port: number, extra: string[]) => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { stdio: 'ignore' })
    procs.push(p)
    await sleep(400)
  }
  beforeAll(async () => {
    await start(16391, [])
    await start(16392, []) // configured below
  })
  afterAll(() => { for (const p of procs) p.kill() })

  it('password given, server has none (ioredis warned and went on)', async () => {
    try { const c = await connectRedis('redis://:stale@127.0.0.1:16391', 1000); log('nopass server: ok'); await c.close() } catch (e) { log('nopass server ->', (e as Error).message) }
    const io = new Redis('redis://:stale@127.0.0.1:16391', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
    io.on('error', () => {})
    try { await io.connect(); log('ioredis nopass server ping ->', await io.ping()) } catch (e) { log('ioredis nopass ->', (e as Error).message) } finally { io.disconnect() }
  })

  it('ACL user with nopass, default user off, URL redis://ci@host', async () => {
    const admin = await connectResp({ host: '127.0.0.1', port: 16392, tls: false }, 1000)
    await admin.command(['ACL', 'SETUSER', 'ci', 'on', 'nopass', '~authctl:*', '+@all'])
    await admin.command(['ACL', 'SETUSER', 'default', 'off'])
    admin.close()
    for (const u of ['redis://ci@127.0.0.1:16392', 'redis://ci:@127.0.0.1:16392']) {
      try { const c = await connectRedis(u, 1000); log(u, 'ok'); await c.close() } catch (e) { log(u, '->', (e as Error).message) }
      const io = new Redis(u, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
      io.on('error', () => {})
      try { await io.connect(); log('ioredis', u, 'set ->', await io.set('authctl:x', '1')) } catch (e) { log('ioredis', u, '->', (e as Error).message) } finally { io.disconnect() }
    }
  })
})
