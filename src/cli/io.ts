import { isatty } from 'node:tty'

/** The process's streams as the CLI sees them; tests build their own (test/helpers/io.ts). */
export interface IO {
  out(text: string): void
  err(text: string): void
  stdinIsTTY: boolean
  stdoutIsTTY: boolean
  stderrIsTTY: boolean
  /** Reads all of stdin (once); rejects input over `maxBytes`. */
  readStdin(maxBytes?: number): Promise<string>
}

export function createProcessIO(): IO {
  let stdinText: Promise<string> | undefined
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    // isatty(0), not process.stdin.isTTY: that getter builds the stdin stream (a pipe socket
    // for most scripts), which only a command that reads stdin or prompts needs.
    stdinIsTTY: isatty(0),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    readStdin(maxBytes = 64 * 1024) {
      stdinText ??= new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = []
        let size = 0
        process.stdin.on('data', (c: Buffer) => {
          size += c.length
          if (size > maxBytes) {
            process.stdin.destroy()
            reject(new StdinTooLargeError(maxBytes))
          } else chunks.push(c)
        })
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        process.stdin.on('error', reject)
      })
      return stdinText
    },
  }
}

export class StdinTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`stdin is larger than ${maxBytes / 1024} KiB`)
  }
}
