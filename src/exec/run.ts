import { type ChildProcess, spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { constants } from 'node:os'
import { SecretMasker } from './mask.js'

export interface RunOptions {
  env: Record<string, string>
  /** Forward these signals to the child (the terminal already sends Ctrl-C to the group). */
  forward: readonly NodeJS.Signals[]
  /** Survive these while the child runs (it receives them from the terminal itself). */
  ignore: readonly NodeJS.Signals[]
  /** Secrets to mask in the child's stdout/stderr; without it, stdio is inherited untouched. */
  mask?: readonly string[]
  /** With `mask`: receives a function that masks more secrets from now on (renewed tokens). */
  onMaskers?: (add: (secret: string) => void) => void
}

/** With masking: how long output is still relayed after the child exited (from what it left running). */
export const BACKGROUND_GRACE_MS = 1000

/**
 * Spawns `command` with inherited stdio and no shell, forwards signals, and resolves with the
 * exit code contract: the child's code, 128+N on signal N, 127 not found, 126 not executable.
 */
export function runChild(command: string, args: readonly string[], opts: RunOptions): Promise<{ code: number; error?: string }> {
  return new Promise((resolve) => {
    const masking = opts.mask !== undefined
    let child: ChildProcess
    try {
      child = spawn(command, [...args], { stdio: masking ? ['inherit', 'pipe', 'pipe'] : 'inherit', env: opts.env })
    } catch (err) {
      // Node's message for a bad argument or variable quotes its value, which may be a token.
      resolve({ code: 126, error: `cannot start ${command}: ${(err as NodeJS.ErrnoException).code ?? 'invalid argument'}` })
      return
    }
    const relay = masking ? relayMasked(child, opts) : undefined
    const restoreSignals = handleSignals(child, opts)
    const done = (r: { code: number; error?: string }) => {
      restoreSignals()
      resolve(r)
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') done({ code: 127, error: `command not found: ${command}` })
      else if (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EISDIR') done({ code: 126, error: `cannot execute ${command}: ${err.code}` })
      else done({ code: 126, error: `cannot start ${command}: ${err.message}` })
    })
    let grace: NodeJS.Timeout | undefined
    let finished = false
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return
      finished = true
      clearTimeout(grace)
      void Promise.all(relay?.drained ?? []).then(() => done({ code: signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1) }))
    }
    // 'close' (not 'exit'): with --mask, every byte must be through the masker before we exit.
    child.on('close', finish)
    // …but a background process the child left holding its stdout or stderr (`sh -c 'server &'`)
    // would keep the pipes open for as long as it runs: once the child itself has exited, output
    // is relayed for BACKGROUND_GRACE_MS (and for as long as a slow reader of ours holds it up),
    // then the pipes are handed to a drain, so that the process keeps running and writing.
    if (relay) {
      child.on('exit', (code, signal) => {
        const exited = Date.now()
        const check = () => {
          const wait = relay.held() ? BACKGROUND_GRACE_MS : exited + BACKGROUND_GRACE_MS - Date.now()
          if (wait > 0) grace = setTimeout(check, wait)
          else {
            relay.detach()
            finish(code, signal)
          }
        }
        grace = setTimeout(check, BACKGROUND_GRACE_MS)
      })
    }
  })
}

/**
 * The child's stdout and stderr through maskers to ours. `drained`: each masker has passed on its
 * last byte; `held()`: output waits for a slow reader of ours; `detach()`: stop relaying (what the
 * maskers hold is flushed) and leave the pipes to a drain of their own.
 */
function relayMasked(child: ChildProcess, opts: RunOptions): { drained: Promise<void>[]; held: () => boolean; detach: () => void } {
  const maskers: SecretMasker[] = []
  const drained: Promise<void>[] = []
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    const m = new SecretMasker(opts.mask ?? [])
    maskers.push(m)
    from?.pipe(m).pipe(to, { end: false })
    drained.push(new Promise((r) => m.on('end', r)))
  }
  opts.onMaskers?.((secret) => {
    for (const m of maskers) m.add(secret)
  })
  const detach = () => {
    child.stdout?.unpipe()
    child.stderr?.unpipe()
    for (const m of maskers) m.end()
    drainAway(child.stdout, child.stderr)
  }
  const held = () => maskers.some((m) => m.writableLength > 0 || m.readableLength > 0) || process.stdout.writableNeedDrain || process.stderr.writableNeedDrain
  return { drained, held, detach }
}

/**
 * What a background process writes to pipes we no longer relay goes to a detached `cat` into
 * /dev/null: closing them would kill it (SIGPIPE) at its next write, keeping them would keep us.
 */
function drainAway(out: Readable | null, err: Readable | null): void {
  // Without a drain (Windows, or spawn failing), the pipes close with us.
  if (process.platform !== 'win32' && out && err) {
    try {
      const drain = spawn('/bin/sh', ['-c', 'cat <&3 >/dev/null & exec cat >/dev/null'], {
        stdio: [out, 'ignore', 'ignore', err],
        detached: true,
        env: { PATH: '/usr/bin:/bin' }, // nothing of ours: it may outlive us by hours
      })
      drain.on('error', () => undefined)
      drain.unref()
    } catch {
      /* see above */
    }
  }
  out?.destroy()
  err?.destroy()
}

/** Ignores and forwards signals as `opts` says while the child runs; returns the undo. */
function handleSignals(child: ChildProcess, opts: RunOptions): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>()
  for (const sig of opts.ignore) {
    const h = () => {}
    handlers.set(sig, h)
    process.on(sig, h)
  }
  for (const sig of opts.forward) {
    const h = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig)
    }
    handlers.set(sig, h)
    process.on(sig, h)
  }
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h)
  }
}
