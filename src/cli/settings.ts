/**
 * The run's settings from global flags and the environment, read by one function for both the
 * light start-up path (src/cli/fast.ts, hand-parsed argv) and the full CLI (commander), so that
 * the two cannot disagree on a rule.
 */
export interface GlobalOptions {
  profile: string
  json: boolean
  verbose: boolean
  color: boolean
}

export interface GlobalFlags {
  profile?: string | undefined
  json?: boolean | undefined
  verbose?: boolean | undefined
  /** false for --no-color */
  color?: boolean | undefined
}

export type Env = Readonly<Record<string, string | undefined>>

export function globalsFrom(flags: GlobalFlags, env: Env, stderrIsTTY: boolean): GlobalOptions {
  return {
    profile: flags.profile ?? env.AUTHCTL_PROFILE ?? 'default',
    json: Boolean(flags.json),
    verbose: Boolean(flags.verbose),
    color: flags.color !== false && !env.NO_COLOR && stderrIsTTY,
  }
}

/** `token --json` turns the default (raw) format into json. */
export function tokenFormatOf(json: boolean, format: string | undefined): string {
  const f = format ?? 'raw'
  return json && f === 'raw' ? 'json' : f
}
