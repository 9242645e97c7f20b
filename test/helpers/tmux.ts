import { spawnSync } from 'node:child_process'

/** A command running in a detached tmux session: a real pseudo-terminal driven by keys. */
export interface TmuxSession {
  send(...keys: string[]): void
  screen(): string
  /** The screen with its escape sequences (colours). */
  rawScreen(): string
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  kill(): void
}

export function hasTmux(): boolean {
  return spawnSync('sh', ['-c', 'command -v tmux']).status === 0
}

function tmux(args: string[]): string {
  const r = spawnSync('tmux', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`)
  return r.stdout
}

/** Starts `shellCommand` in a new 120x40 tmux session with the given environment. */
export function startTmux(name: string, shellCommand: string, env: Record<string, string | undefined>): TmuxSession {
  const exports = Object.entries(env)
    .filter(([k, v]) => v !== undefined && /^[A-Z_][A-Z0-9_]*$/i.test(k))
    .map(([k, v]) => `${k}='${String(v).replace(/'/g, `'\\''`)}'`)
    .join(' ')
  tmux([
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '120',
    '-y',
    '40',
    `env -i ${exports} sh -c 'trap : INT; ${shellCommand.replace(/'/g, `'\\''`)}; echo "EXIT:$?"; sleep 30'`,
  ])
  const screen = () => tmux(['capture-pane', '-p', '-t', name])
  return {
    rawScreen: () => tmux(['capture-pane', '-p', '-e', '-t', name]),
    send: (...keys) => void tmux(['send-keys', '-t', name, '--', ...keys]),
    screen,
    async waitFor(pattern, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const s = screen()
        if (pattern.test(s)) return s
        if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}; screen:\n${s}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    kill: () => void spawnSync('tmux', ['kill-session', '-t', name]),
  }
}
