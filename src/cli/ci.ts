import { UsageError } from '../kernel/errors.js'
import { cleanText } from '../kernel/sanitize.js'
import type { CliContext } from './context.js'

/**
 * `::add-mask::VALUE` lines that make a GitHub Actions runner hide each secret in the job log.
 * The runner reads workflow commands from a step's stdout and stderr alike; a command must start
 * its line, and its data is unescaped (`%25` → `%`, `%0D` → CR, `%0A` → LF), so the value is
 * escaped the same way (as @actions/core's setSecret does).
 */
export function addMaskLines(secrets: Iterable<string>): string {
  return [...new Set(secrets)]
    .filter((s) => s.trim() !== '')
    .map((s) => `::add-mask::${s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}\n`)
    .join('')
}

/** Under GitHub Actions (GITHUB_ACTIONS=true), registers the secrets with the runner on stderr. */
export function registerMasks(ctx: CliContext, secrets: Iterable<string>): void {
  if (ctx.env.GITHUB_ACTIONS !== 'true') return
  const lines = addMaskLines(secrets)
  if (lines) ctx.io.err(lines)
}

const YES = new Set(['1', 'true', 'yes', 'on'])
const NO = new Set(['0', 'false', 'no', 'off'])

/**
 * Whether `exec` masks the child's output: `--mask`/`--no-mask` win, then AUTHCTL_MASK (1 or 0,
 * or true/false, yes/no, on/off; anything else is exit 2 rather than a silent default);
 * otherwise on in CI (CI set) when stdout is not a terminal, i.e. when it goes to a log.
 */
export function maskWanted(ctx: CliContext, flag: boolean | undefined): boolean {
  if (flag !== undefined) return flag
  const v = ctx.env.AUTHCTL_MASK?.trim().toLowerCase()
  if (v && YES.has(v)) return true
  if (v && NO.has(v)) return false
  if (v) {
    throw new UsageError(`AUTHCTL_MASK must be 1 or 0 (true/false, yes/no, on/off also work), got ${JSON.stringify(cleanText(v).slice(0, 20))}`, {
      hint: 'or use --mask / --no-mask',
    })
  }
  return Boolean(ctx.env.CI) && !ctx.io.stdoutIsTTY
}
