import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './net.js'
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

/** A CA and a server certificate for localhost/127.0.0.1, made with openssl. */
function tlsFiles(dir: string): { ca: string; cert: string; key: string } {
  const f = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), csr: join(dir, 'server.csr') }
  const ext = join(dir, 'ext.cnf')
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  const steps = [
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f.caKey, '-out', f.ca, '-days', '2', '-subj', '/CN=authctl test CA'],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f.key, '-out', f.csr, '-subj', '/CN=localhost'],
    ['x509', '-req', '-in', f.csr, '-CA', f.ca, '-CAkey', f.caKey, '-CAcreateserial', '-out', f.cert, '-days', '2', '-extfile', ext],
  ]
  for (const a of steps) {
    const r = spawnSync('openssl', a, { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`openssl ${a[0]} failed: ${r.stderr}`)
  }
  return { ca: f.ca, cert: f.cert, key: f.key }
}

export interface RedisOptions {
  /** requirepass: the default user's password. */
  password?: string
  /** An ACL user that may touch only authctl's keys (`~authctl:*`); no password: `nopass`. */
  user?: { name: string; password?: string }
  /** Switch the default user off: only `user` may connect (the test's own client too). */
  defaultUserOff?: boolean
  /** TLS only (no plain port), with a certificate for localhost from a CA of its own (`ca`: its PEM file). */
  tls?: boolean
}

/** A real redis-server on 127.0.0.1, no persistence, optionally with a password, an ACL user, TLS. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const port = await freePort()
  const dir = tempDir('redis-')
  const tls = opts.tls ? tlsFiles(dir) : undefined
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
          tls.ca,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)]),
  )
  if (opts.password) args.push('--requirepass', opts.password)
  if (opts.user) args.push('--user', opts.user.name, 'on', opts.user.password ? `>${opts.user.password}` : 'nopass', '~authctl:*', '+@all')
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
    ...(tls ? { tls: { ca: readFileSync(tls.ca), servername: 'localhost' } } : {}),
  })
  client.on('error', () => {})
  await client.connect()
  return {
    url: `${tls ? 'rediss' : 'redis'}://${auth}${tls ? 'localhost' : '127.0.0.1'}:${port}/0`,
    port,
    ca: tls?.ca,
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
