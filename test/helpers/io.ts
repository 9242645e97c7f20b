import type { IO } from '../../src/cli/io.js'

export interface TestIO extends IO {
  stdout(): string
  stderr(): string
}

/** Buffers instead of process streams (gh iostreams.Test). */
export function createTestIO(opts: { stdin?: string; stdinTTY?: boolean; stdoutTTY?: boolean; stderrTTY?: boolean; stdoutColumns?: number } = {}): TestIO {
  let out = ''
  let err = ''
  let stdin = opts.stdin ?? ''
  let rest: string | undefined
  return {
    out: (t) => {
      out += t
    },
    err: (t) => {
      err += t
    },
    stdinIsTTY: opts.stdinTTY ?? false,
    stdoutIsTTY: opts.stdoutTTY ?? false,
    ...(opts.stdoutColumns ? { stdoutColumns: opts.stdoutColumns } : {}),
    stderrIsTTY: opts.stderrTTY ?? opts.stdinTTY ?? false, // a terminal session: both, unless a test says otherwise
    readStdin: async () => {
      rest ??= stdin
      stdin = ''
      return rest
    },
    readStdinLine: async () => {
      if (!stdin) return undefined
      const i = stdin.indexOf('\n')
      const line = i >= 0 ? stdin.slice(0, i) : stdin
      stdin = i >= 0 ? stdin.slice(i + 1) : ''
      return line.replace(/\r$/, '')
    },
    stdout: () => out,
    stderr: () => err,
  }
}
