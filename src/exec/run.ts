import { spawn } from 'node:child_process'
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

/**
 * Spawns `command` with inherited stdio and no shell, forwards signals, and resolves with the
 * exit code contract: the child's code, 128+N on signal N, 127 not found, 126 not executable.
 */
export function runChild(command: string, args: readonly string[], opts: RunOptions): Promise<{ code: number; error?: string }> {
  return new Promise((resolve) => {
    const masking = opts.mask !== undefined
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(command, [...args], { stdio: masking ? ['inherit', 'pipe', 'pipe'] : 'inherit', env: opts.env })
    } catch (err) {
      // Node's message for a bad argument or variable quotes its value, which may be a token.
      resolve({ code: 126, error: `cannot start ${command}: ${(err as NodeJS.ErrnoException).code ?? 'invalid argument'}` })
      return
    }
    const drained: Promise<void>[] = []
    if (masking) {
      const maskers: SecretMasker[] = []
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
    }
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
    const done = (r: { code: number; error?: string }) => {
      for (const [sig, h] of handlers) process.off(sig, h)
      resolve(r)
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') done({ code: 127, error: `command not found: ${command}` })
      else if (err.code === 'EACCES' || err.code === 'ENOEXEC' || err.code === 'EISDIR') done({ code: 126, error: `cannot execute ${command}: ${err.code}` })
      else done({ code: 126, error: `cannot start ${command}: ${err.message}` })
    })
    // 'close' (not 'exit'): with --mask, every byte must be through the masker before we exit.
    child.on('close', (code, signal) => {
      void Promise.all(drained).then(() => {
        if (signal) done({ code: 128 + (constants.signals[signal] ?? 0) })
        else done({ code: code ?? 1 })
      })
    })
  })
}
