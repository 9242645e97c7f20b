import { UsageError } from '../kernel/errors.js'
import { shellQuote } from './output.js'

export const ENV_FORMATS = ['sh', 'dotenv', 'powershell', 'json'] as const
export type EnvFormat = (typeof ENV_FORMATS)[number]

/**
 * Variables as text for a shell (`export NAME='v'`), an env file (`NAME=v`), PowerShell
 * (`$env:NAME = 'v'`) or JSON (one object). Throws before printing anything when a value
 * cannot be written safely in the format.
 */
export function formatVars(vars: Readonly<Record<string, string>>, format: EnvFormat): string {
  const entries = Object.entries(vars)
  switch (format) {
    case 'sh':
      return entries.map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join('')
    case 'dotenv':
      return entries.map(([k, v]) => `${k}=${dotenvValue(k, v)}\n`).join('')
    case 'powershell':
      return entries.map(([k, v]) => `$env:${k} = ${powershellQuote(v)}\n`).join('')
    case 'json':
      return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`
  }
}

/**
 * A dotenv value is written bare: `docker run --env-file` and `$GITHUB_ENV` take everything after
 * the first `=` literally (no quote processing), so quoting would end up in the value. A value
 * only round-trips through every reader (docker, $GITHUB_ENV, the `dotenv` package) when it has
 * no line break or other control character, no leading/trailing space, no `#` (a comment to
 * `dotenv`) and no leading quote; anything else is refused rather than written broken.
 */
function dotenvValue(name: string, value: string): string {
  const why = /[\r\n]/.test(value)
    ? 'a line break'
    : /[\x00-\x1f\x7f]/.test(value)
      ? 'a control character'
      : /^\s|\s$/.test(value)
        ? 'leading or trailing space'
        : value.includes('#')
          ? 'a #'
          : /^['"`]/.test(value)
            ? 'a leading quote'
            : undefined
  if (why) {
    throw new UsageError(`${name} cannot be written as dotenv: its value has ${why}, which env-file readers do not agree on`, {
      hint: 'use --format sh, powershell or json for this value',
    })
  }
  return value
}

/** A PowerShell verbatim string: single quotes, each quote doubled (the typographic ones too). */
export function powershellQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`
}
