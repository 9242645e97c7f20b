import { CommanderError } from 'commander'
import { ExitCode } from '../kernel/errors.js'
import { CliContext, type ContextOverrides, type Env } from './context.js'
import { createProcessIO, type IO } from './io.js'
import { oneLine, painter, reportError } from './report.js'
import { quietClosedPipes } from './epipe.js'
import { explainParseError } from './mistakes.js'
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
    return err instanceof CommanderError ? reportParseError(err, ctx, argv) : reportError(err, ctx)
  } finally {
    await ctx.dispose().catch(() => undefined)
  }
}

/** A commander error: help and --version are exit 0; a parse error is one line, a hint, exit 2. */
async function reportParseError(err: CommanderError, ctx: CliContext, argv: readonly string[]): Promise<number> {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.Ok
  const paint = await painter(ctx)
  const { message, hint } = explainParseError(err, argv)
  ctx.io.err(`${paint.error('authctl:')} ${oneLine(message)}\n${paint.hint('hint:')} ${oneLine(hint)}\n`)
  return ExitCode.Usage
}

/** Entry point used by bin/authctl.js. */
export async function main(argv: readonly string[]): Promise<void> {
  quietClosedPipes()
  process.exitCode = await run(argv, process.env, createProcessIO())
}
