import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from './net.js'
import { tempDir } from './tmp.js'

export function hasRedisServer(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server']).status === 0
}

export interface RedisServer {
  url: string
  port: number
  /** A client for the test itself (inspection). */
  client: Redis
  kill(signal?: NodeJS.Signals): void
  stop(): Promise<void>
}

/** A real redis-server on 127.0.0.1, no persistence, optionally with a password. */
export async function startRedis(opts: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir('redis-')]
  if (opts.password) args.push('--requirepass', opts.password)
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
  const client = new Redis({ host: '127.0.0.1', port, password: opts.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  await client.connect()
  return {
    url: `redis://${auth}127.0.0.1:${port}/0`,
    port,
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
