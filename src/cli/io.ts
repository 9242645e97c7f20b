import { isatty } from 'node:tty'

/** The process's streams as the CLI sees them; tests build their own (test/helpers/io.ts). */
export interface IO {
  out(text: string): void
  err(text: string): void
  stdinIsTTY: boolean
  stdoutIsTTY: boolean
  stderrIsTTY: boolean
  /** The terminal's width when stdout is one (tables fit it). */
  stdoutColumns?: number
  /** Reads the rest of stdin (once); rejects input over `maxBytes`. */
  readStdin(maxBytes?: number): Promise<string>
  /**
   * Reads stdin's next line (without its line break), or undefined at its end, leaving the rest
   * unread: a login can print a URL between two lines of input (`login lucid --manual`).
   */
  readStdinLine(): Promise<string | undefined>
}

export function createProcessIO(): IO {
  const stdin = stdinReader(64 * 1024)
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    // isatty(0), not process.stdin.isTTY: that getter builds the stdin stream (a pipe socket
    // for most scripts), which only a command that reads stdin or prompts needs.
    stdinIsTTY: isatty(0),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    ...(process.stdout.isTTY && process.stdout.columns ? { stdoutColumns: process.stdout.columns } : {}),
    readStdin: (maxBytes) => stdin.rest(maxBytes),
    readStdinLine: () => stdin.line(),
  }
}

/**
 * process.stdin read on demand, line by line or to its end, at most `limit` bytes in all. The
 * stream is only touched by the first read (building it costs a cached `token` start-up time).
 */
function stdinReader(limit: number) {
  const st = { text: '', ended: false, failure: undefined as Error | undefined }
  const waiting: Array<() => void> = []
  // stdin is read only while a read waits: a paused stdin lets the process exit when its command
  // is done, whatever the writer still holds open (a pipe kept open after the last line read).
  const next = () => {
    process.stdin.resume()
    return new Promise<void>((r) => waiting.push(r)).finally(() => {
      if (waiting.length === 0) process.stdin.pause()
    })
  }
  let started = false
  let rest: Promise<string> | undefined
  const start = (maxBytes: number) => {
    if (started) return
    started = true
    listen(maxBytes, st, () => {
      for (const w of waiting.splice(0)) w()
    })
  }
  return {
    async line(): Promise<string | undefined> {
      start(limit)
      for (;;) {
        if (st.failure) throw st.failure
        const i = st.text.indexOf('\n')
        if (i >= 0 || (st.ended && st.text)) {
          const l = i >= 0 ? st.text.slice(0, i) : st.text
          st.text = i >= 0 ? st.text.slice(i + 1) : ''
          return l.replace(/\r$/, '')
        }
        if (st.ended) return undefined
        await next()
      }
    },
    rest(maxBytes = limit): Promise<string> {
      rest ??= (async () => {
        start(maxBytes)
        while (!st.ended && !st.failure) await next()
        if (st.failure) throw st.failure
        const all = st.text
        st.text = ''
        return all
      })()
      return rest
    },
  }
}

/** Appends what process.stdin brings to `st.text` (up to `maxBytes`), and notes its end or failure. */
function listen(maxBytes: number, st: { text: string; ended: boolean; failure: Error | undefined }, wake: () => void): void {
  let size = 0
  process.stdin.setEncoding('utf8') // splits no character between chunks
  process.stdin.on('data', (c: string) => {
    size += Buffer.byteLength(c)
    if (size > maxBytes) {
      process.stdin.destroy()
      st.failure = new StdinTooLargeError(maxBytes)
    } else st.text += c
    wake()
  })
  process.stdin.on('end', () => {
    st.ended = true
    wake()
  })
  process.stdin.on('error', (err: Error) => {
    st.failure = err
    wake()
  })
}

export class StdinTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`stdin is larger than ${maxBytes / 1024} KiB`)
  }
}
