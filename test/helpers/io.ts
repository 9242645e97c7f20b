import type { IO } from '../../src/cli/io.js'

export interface TestIO extends IO {
  stdout(): string
  stderr(): string
}

/** Buffers instead of process streams (gh iostreams.Test). */
export function createTestIO(opts: { stdin?: string; stdinTTY?: boolean; stdoutTTY?: boolean } = {}): TestIO {
  let out = ''
  let err = ''
  return {
    out: (t) => {
      out += t
    },
    err: (t) => {
      err += t
    },
    stdinIsTTY: opts.stdinTTY ?? false,
    stdoutIsTTY: opts.stdoutTTY ?? false,
    stderrIsTTY: false,
    readStdin: async () => opts.stdin ?? '',
    stdout: () => out,
    stderr: () => err,
  }
}
