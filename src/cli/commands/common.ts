import type { Command } from 'commander'
import { UsageError } from '../../kernel/errors.js'
import type { ProfileRef } from '../../kernel/profile.js'
import type { FlagSpec } from '../../providers/types.js'
import type { MinTtl } from '../../tokens/service.js'
import { DEFAULT_MIN_TTL_MS } from '../../tokens/token-cache.js'
import { allProviders, getProvider } from '../../providers/registry.js'
import type { Provider } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { listNames } from '../output.js'

export interface Target {
  provider: Provider
  ref: ProfileRef
}

/** Provider (id or alias) plus the active profile. */
export function target(ctx: CliContext, providerName: string): Target {
  const provider = getProvider(providerName)
  return { provider, ref: { provider: provider.id, profile: ctx.profile } }
}

/** `--min-ttl` (seconds; `givenName` for the library's `minTtl`), else AUTHCTL_MIN_TTL, else 300. */
export function minTtlOf(ctx: CliContext, given: string | undefined, givenName = '--min-ttl'): MinTtl {
  const raw = given ?? ctx.env.AUTHCTL_MIN_TTL
  const minTtlName = given === undefined ? 'AUTHCTL_MIN_TTL' : givenName
  if (raw === undefined || raw === '') return { minTtlMs: DEFAULT_MIN_TTL_MS, minTtlName }
  if (!/^\d{1,7}$/.test(raw))
    throw new UsageError(`${minTtlName} must be a whole number of seconds, got ${JSON.stringify(raw.slice(0, 40))}`, {
      hint: 'e.g. --min-ttl 600 (or AUTHCTL_MIN_TTL=600)',
    })
  return { minTtlMs: Number(raw) * 1000, minTtlName }
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export { profileSuffix } from '../../kernel/profile.js'

/** The options given on the command line (camelCase keys), leaving out defaults. */
export function givenFlags(self: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const opt of self.options) {
    const key = opt.attributeName()
    if (self.getOptionValueSource(key) === 'cli') out[key] = self.getOptionValue(key)
  }
  return out
}

/** `storePassword` → `store-password`, for naming a flag back to the user. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** A given flag as the user typed it: `verify: false` came from `--no-verify`. */
export function typedFlag(key: string, value: unknown): string {
  return `--${value === false ? 'no-' : ''}${kebab(key)}`
}

/** The options `exec` and `env` share: which providers, which scopes (of the providers that take them), how fresh. */
export function addEnvSelection(cmd: Command, minTtlHelp: string): Command {
  const scoped = allProviders().filter((p) => p.execScopes)
  const scopeHelp = `scope, repeatable: one token per scope for ${listNames(scoped.map((p) => p.displayName))} (the first also as ${scoped
    .map((p) => `${p.env.prefix}_ACCESS_TOKEN`)
    .join(', ')}); others use their login's scopes`
  return cmd
    .option('--provider <provider>', 'only this provider, repeatable (default: all with credentials)', collect)
    .option('--scope <scope>', scopeHelp, collect)
    .option('--min-ttl <seconds>', minTtlHelp)
}

/** A descriptor's flag as a commander option, with `help` (repeatable flags collect into an array). */
export function addFlagSpec(cmd: Command, spec: FlagSpec, help: string): void {
  if (spec.repeatable) cmd.option(spec.flags, help, collect)
  else cmd.option(spec.flags, help)
}
