import { NonInteractiveError, UsageError } from '../kernel/errors.js'
import type { LoginInput, ProviderContext } from './types.js'

/** Secrets longer than this are refused: no real credential is this big. */
export const MAX_SECRET_BYTES = 16 * 1024

/** Rejects empty, oversized or multi-line secrets before anything is sent or stored. */
export function validateSecret(value: string, what: string): string {
  if (value.length === 0) throw new UsageError(`${what} is empty`)
  if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new UsageError(`${what} is longer than ${MAX_SECRET_BYTES / 1024} KiB`)
  if (/[\r\n\0]/.test(value)) throw new UsageError(`${what} contains a line break or NUL`, { hint: 'pass exactly one line' })
  return value
}

/** `value` without the trailing line breaks that `echo`, a heredoc or a CI secret page add (for variables). */
export function trimLineEnd(value: string): string {
  return value.replace(/[\r\n]+$/, '')
}

/** Strips the one trailing newline `echo` or a heredoc adds. */
export function stripFinalNewline(s: string): string {
  return s.replace(/\r?\n$/, '')
}

export interface ValueSpec {
  value: string | undefined
  envVar: string
  flag: string
  message: string
}

/** A non-secret value: flag, then environment, then a prompt on a TTY, else exit 2. */
export async function collectValue(input: LoginInput, ctx: ProviderContext, spec: ValueSpec): Promise<string> {
  const fromEnv = ctx.env[spec.envVar]
  const v = spec.value ?? (fromEnv === undefined ? undefined : trimLineEnd(fromEnv))
  if (v !== undefined && v !== '') return validateSecret(v, spec.message)
  if (!input.interactive) {
    throw new NonInteractiveError(`missing ${spec.message}`, { hint: `pass ${spec.flag} or set ${spec.envVar}` })
  }
  return validateSecret((await ctx.prompter.input(spec.message)).trim(), spec.message)
}

export interface SecretSpec {
  stdin: boolean
  envVar: string
  flag: string
  message: string
  /** Sent verbatim in an HTTP header (tokens, API keys): printable ASCII only. */
  header?: boolean
}

/**
 * A secret as given, tidied where that cannot change it: a token or API key (sent in a header,
 * where whitespace is never part of it) loses the spaces, tabs and line breaks a paste leaves
 * around it; anything else only the trailing line breaks of a variable. Then checked.
 */
function tidySecret(value: string, spec: SecretSpec, what: string): string {
  const v = validateSecret(spec.header ? value.trim() : value, what)
  if (spec.header && /[^\x21-\x7e]/.test(v)) {
    throw new UsageError(`${spec.message} contains spaces or non-ASCII characters, which an HTTP header cannot carry`, {
      hint: 'paste the token exactly as the provider showed it',
    })
  }
  return v
}

/** A secret: `--*-stdin`, then environment, then a masked prompt on a TTY, else exit 2. */
export async function collectSecret(input: LoginInput, ctx: ProviderContext, spec: SecretSpec): Promise<string> {
  if (spec.stdin) return tidySecret(stripFinalNewline(await input.readStdin()), spec, spec.message)
  const given = ctx.env[spec.envVar]
  const env = given === undefined ? undefined : trimLineEnd(given)
  if (env !== undefined && env !== '') return tidySecret(env, spec, `${spec.message} (from ${spec.envVar})`)
  if (!input.interactive) {
    throw new NonInteractiveError(`missing ${spec.message}`, { hint: `pipe it to ${spec.flag} or set ${spec.envVar}` })
  }
  return tidySecret(await ctx.prompter.password(spec.message), spec, spec.message)
}
