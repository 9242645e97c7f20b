import { CommanderError } from 'commander'
import { AuthctlError, ExitCode, errorToExitCode } from '../kernel/errors.js'
import { redactUrlsIn } from '../kernel/redact.js'
import { cleanLines, cleanText } from '../kernel/sanitize.js'
import { CliContext, type ContextOverrides, type Env } from './context.js'
import { createProcessIO, StdinTooLargeError, type IO } from './io.js'
import { quietClosedPipes } from './epipe.js'
import { explainParseError } from './mistakes.js'
import type { Handoff } from './settings.js'
import { createProgram } from './program.js'

/**
 * Runs one CLI invocation and resolves with its exit code. The only place that turns errors
 * into stderr text; `main` is the only place that sets process.exitCode.
 */
export async function run(argv: readonly string[], env: Env, io: IO, overrides: ContextOverrides = {}): Promise<number> {
  const ctx = new CliContext(env, io, overrides)
  ctx.globals.verbose = argv.includes('--verbose')
  ctx.globals.color = !argv.includes('--no-color') && !env.NO_COLOR && io.stderrIsTTY
  try {
    const program = createProgram(ctx)
    await program.parseAsync([...argv], { from: 'user' })
    return ctx.exitCode
  } catch (err) {
    return report(err, ctx, await painter(ctx), argv)
  } finally {
    await ctx.dispose().catch(() => undefined)
  }
}

type Paint = { error(s: string): string; hint(s: string): string }
const plain: Paint = { error: (s) => s, hint: (s) => s }

/** Colour for error lines, only on a TTY without NO_COLOR/--no-color; chalk loads only here. */
async function painter(ctx: CliContext): Promise<Paint> {
  if (!ctx.globals.color) return plain
  try {
    const { Chalk } = await import('chalk')
    const c = new Chalk({ level: 1 })
    return { error: (s) => c.red.bold(s), hint: (s) => c.yellow(s) }
  } catch {
    return plain
  }
}

function report(err: unknown, ctx: CliContext, paint: Paint, argv: readonly string[]): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.Ok
    const { message, hint } = explainParseError(err, argv)
    ctx.io.err(`${paint.error('authctl:')} ${oneLine(message)}\n${paint.hint('hint:')} ${oneLine(hint)}\n`)
    return ExitCode.Usage
  }
  if (err instanceof StdinTooLargeError) {
    ctx.io.err(`authctl: ${err.message}\nhint: pass exactly the secret on stdin\n`)
    return ExitCode.Usage
  }
  const verbose = ctx.globals.verbose
  if (err instanceof AuthctlError) {
    ctx.io.err(`${paint.error('authctl:')} ${oneLine(err.message)}\n`)
    if (err.hint) ctx.io.err(`${paint.hint('hint:')} ${oneLine(err.hint)}\n`)
  } else {
    const msg = err instanceof Error ? err.message : String(err)
    ctx.io.err(`${paint.error('authctl:')} unexpected error: ${oneLine(msg)}\n`)
    ctx.io.err(`${paint.hint('hint:')} this is a bug in authctl; rerun with --verbose and report the output\n`)
  }
  if (verbose) printStack(err, ctx)
  return errorToExitCode(err)
}

/** One line of message text: no control characters or ESC sequences, URLs redacted. */
function oneLine(s: string): string {
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

/** Entry point used by bin/authctl.js. */
export async function main(argv: readonly string[], handoff: Handoff = {}): Promise<void> {
  quietClosedPipes()
  process.exitCode = await run(argv, process.env, createProcessIO(), { handoff })
}
