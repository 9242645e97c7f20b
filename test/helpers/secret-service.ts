import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './tmp.js'

export interface SecretService {
  /** Environment that points clients at this private session bus. */
  env: Record<string, string>
  /** `secret-tool lookup service authctl username ACCOUNT`, or undefined. */
  lookup(account: string): string | undefined
  /** Every account (`username` attribute) stored under service authctl. */
  accounts(): string[]
  stop(): Promise<void>
}

export const SECRET_SERVICE_TOOLS = ['dbus-run-session', 'gnome-keyring-daemon', 'secret-tool']

export function missingTools(): string[] {
  return SECRET_SERVICE_TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
}

/**
 * A private D-Bus session (dbus-run-session) with an unlocked gnome-keyring-daemon serving the
 * Secret Service, in a throwaway HOME. Stopping the session's child ends the bus and daemon.
 */
export async function startSecretService(): Promise<SecretService> {
  const home = tempDir('keyring-')
  const run = join(home, 'run')
  mkdirSync(run, { mode: 0o700 })
  const env = { ...process.env, HOME: home, XDG_RUNTIME_DIR: run, XDG_DATA_HOME: join(home, 'data') } as Record<string, string>
  const script =
    'printf test-password | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null 2>&1; echo "$DBUS_SESSION_BUS_ADDRESS"; exec sleep 600'
  const child: ChildProcess = spawn('dbus-run-session', ['--', 'sh', '-c', script], { env, stdio: ['ignore', 'pipe', 'ignore'], detached: true })
  const address = await new Promise<string>((resolve, reject) => {
    let out = ''
    const t = setTimeout(() => reject(new Error('dbus-run-session did not start within 10 s')), 10_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) {
        clearTimeout(t)
        resolve(out.split('\n')[0] as string)
      }
    })
    child.on('error', reject)
  })
  const busEnv = { DBUS_SESSION_BUS_ADDRESS: address, HOME: home, XDG_RUNTIME_DIR: run }
  /** secret-tool's environment: this session's bus. */
  const toolEnv = { ...process.env, ...busEnv }
  await writable(toolEnv)
  return {
    env: busEnv,
    lookup(account) {
      const r = spawnSync('secret-tool', ['lookup', 'service', 'authctl', 'username', account], { env: toolEnv, encoding: 'utf8' })
      return r.status === 0 ? r.stdout : undefined
    },
    accounts() {
      const r = spawnSync('secret-tool', ['search', '--all', 'service', 'authctl'], { env: toolEnv, encoding: 'utf8' })
      return [...`${r.stdout}\n${r.stderr}`.matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1] as string)
    },
    async stop() {
      try {
        process.kill(-(child.pid as number), 'SIGTERM')
      } catch {
        /* already gone */
      }
    },
  }
}

/**
 * Waits until the daemon stores and deletes an item (service authctl-ready, never authctl's own),
 * so that no test starts before the Secret Service takes writes. In one full run on a loaded
 * machine, every keychain login of keychain.test was exit 6; a daemon not yet serving is the
 * likely cause (not reproduced since, also not under 6 busy loops), and this rules it out.
 */
async function writable(env: NodeJS.ProcessEnv): Promise<void> {
  const item = ['service', 'authctl-ready', 'username', 'probe']
  const deadline = Date.now() + 15_000
  for (;;) {
    const stored = spawnSync('secret-tool', ['store', '--label=authctl test probe', ...item], { env, input: 'x', encoding: 'utf8', timeout: 5_000 })
    if (stored.status === 0) {
      spawnSync('secret-tool', ['clear', ...item], { env, timeout: 5_000 })
      return
    }
    if (Date.now() > deadline) throw new Error(`the Secret Service did not accept an item within 15 s: ${stored.stderr}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
