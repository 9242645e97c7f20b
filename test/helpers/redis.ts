import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { freePort } from './net.js'
import { selfSignedCert } from './tls.js'
import { tempDir } from './tmp.js'

export function hasRedisServer(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server']).status === 0
}

export interface RedisServer {
  url: string
  port: number
  /** The CA file of a TLS server. */
  ca?: string
  /** A client for the test itself (inspection). */
  client: Redis
  kill(signal?: NodeJS.Signals): void
  stop(): Promise<void>
}

export interface RedisOptions {
  /** requirepass: the default user's password. */
  password?: string
  /** An ACL user that may touch only authctl's keys (`~authctl:*`, or `keys`); no password: `nopass`. */
  user?: { name: string; password?: string; keys?: string[] }
  /** Switch the default user off: only `user` may connect (the test's own client too). */
  defaultUserOff?: boolean
  /** TLS only (no plain port), with a self-signed certificate for localhost (`ca`: its PEM file, the CA to trust). */
  tls?: boolean
}

/** A real redis-server on 127.0.0.1, no persistence, optionally with a password, an ACL user, TLS. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const port = await freePort()
  const dir = tempDir('redis-')
  const tls = opts.tls ? selfSignedCert('localhost', 'DNS:localhost,IP:127.0.0.1') : undefined
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  args.push(
    ...(tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          tls.cert,
          '--tls-key-file',
          tls.key,
          '--tls-ca-cert-file',
          tls.cert,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)]),
  )
  if (opts.password) args.push('--requirepass', opts.password)
  if (opts.user)
    args.push('--user', opts.user.name, 'on', opts.user.password ? `>${opts.user.password}` : 'nopass', ...(opts.user.keys ?? ['~authctl:*']), '+@all')
  if (opts.defaultUserOff) args.push('--user', 'default', 'off')
  const proc: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const t = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
    proc.stdout?.on('data', (d: Buffer) => {
      out += d
      if (out.includes('Ready to accept connections')) {
        clearTimeout(t)
        resolve()
      }
    })
    proc.on('exit', (c) => reject(new Error(`redis-server exited ${c}: ${out}`)))
  })
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : ''
  const client = new Redis({
    host: '127.0.0.1',
    port,
    ...(opts.defaultUserOff && opts.user ? { username: opts.user.name, password: opts.user.password ?? '' } : { password: opts.password }),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(tls ? { tls: { ca: readFileSync(tls.cert), servername: 'localhost' } } : {}),
  })
  client.on('error', () => {})
  await client.connect()
  return {
    url: `${tls ? 'rediss' : 'redis'}://${auth}${tls ? 'localhost' : '127.0.0.1'}:${port}/0`,
    port,
    ca: tls?.cert,
    client,
    kill: (signal = 'SIGKILL') => void proc.kill(signal),
    async stop() {
      client.disconnect()
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM')
        await new Promise((r) => proc.on('exit', r))
      }
    },
  }
}
