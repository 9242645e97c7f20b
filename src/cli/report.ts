import { AuthctlError, errorToExitCode, ExitCode } from '../kernel/errors.js'
import { redactUrlsIn } from '../kernel/redact.js'
import { cleanLines, cleanText } from '../kernel/sanitize.js'
import type { CliContext } from './context.js'
import { StdinTooLargeError } from './io.js'

/**
 * How a failed run ends, for the full CLI and the light start-up path alike: one `authctl:` line,
 * an optional `hint:` line, the stack only with --verbose, and the documented exit code.
 * (Parse errors, which only commander raises, are main.ts's.)
 */
export async function reportError(err: unknown, ctx: CliContext): Promise<number> {
  const paint = await painter(ctx)
  if (err instanceof StdinTooLargeError) {
    ctx.io.err(`authctl: ${err.message}\nhint: pass exactly the secret on stdin\n`)
    return ExitCode.Usage
  }
  if (err instanceof AuthctlError) {
    ctx.io.err(`${paint.error('authctl:')} ${oneLine(err.message)}\n`)
    if (err.hint) ctx.io.err(`${paint.hint('hint:')} ${oneLine(err.hint)}\n`)
  } else {
    const msg = err instanceof Error ? err.message : String(err)
    ctx.io.err(`${paint.error('authctl:')} unexpected error: ${oneLine(msg)}\n`)
    ctx.io.err(`${paint.hint('hint:')} this is a bug in authctl; rerun with --verbose and report the output\n`)
  }
  if (ctx.globals.verbose) printStack(err, ctx)
  return errorToExitCode(err)
}

export type Paint = { error(s: string): string; hint(s: string): string }
const plain: Paint = { error: (s) => s, hint: (s) => s }

/** Colour for error lines, only on a TTY without NO_COLOR/--no-color; chalk loads only here. */
export async function painter(ctx: CliContext): Promise<Paint> {
  if (!ctx.globals.color) return plain
  try {
    const { Chalk } = await import('chalk')
    const c = new Chalk({ level: 1 })
    return { error: (s) => c.red.bold(s), hint: (s) => c.yellow(s) }
  } catch {
    return plain
  }
}

/** One line of message text: no control characters or ESC sequences, URLs redacted. */
export function oneLine(s: string): string {
  return redactUrlsIn(cleanText(s.replace(/\s*\n\s*/g, ' '))).slice(0, 500)
}

function printStack(err: unknown, ctx: CliContext): void {
  let e: unknown = err
  for (let depth = 0; e && depth < 5; depth++) {
    const stack = e instanceof Error ? (e.stack ?? e.message) : String(e)
    ctx.io.err(`${depth === 0 ? '' : 'caused by: '}${redactUrlsIn(cleanLines(stack))}\n`)
    e = e instanceof Error ? e.cause : undefined
  }
}
