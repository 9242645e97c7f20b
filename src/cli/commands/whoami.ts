import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { formatFields, printJson } from '../output.js'
import { minTtlOf, target } from './common.js'

export interface WhoamiOptions {
  provider: string
}

export function registerWhoami(parent: Command, ctx: CliContext, runF = runWhoami): Command {
  return parent
    .command('whoami')
    .description('who the credential belongs to, checked against the provider')
    .argument('<provider>', 'provider id or alias')
    .addHelpText('after', '\nExamples:\n  authctl whoami lucidworks\n  authctl whoami lucidworks --json | jq -r .client_id')
    .action(async (provider: string) => runF({ provider }, ctx))
}

export async function runWhoami(opts: WhoamiOptions, ctx: CliContext): Promise<void> {
  const t = target(ctx, opts.provider)
  const tokens = ctx.tokens()
  const cred = await ctx.credentials().resolve(t.provider, t.ref)
  const token = await tokens.getToken(t.provider, t.ref, cred, minTtlOf(ctx, undefined))
  const identity = await t.provider.whoami(cred, token, ctx.providerContext())
  const doc = { provider: t.provider.id, profile: t.ref.profile, ...identity, source: cred.source }
  if (ctx.globals.json) return printJson(ctx.io, doc)
  ctx.io.out(formatFields(Object.entries(doc).map(([k, v]) => [k, humanValue(v)] as const)))
}

/** `["a","b"]` → "a, b"; `[{slug:"acme",role:"ADMIN"}]` → "acme (ADMIN)"; null → "-". */
function humanValue(v: unknown): string {
  if (v === null || v === undefined) return '-'
  if (Array.isArray(v)) return v.length ? v.map(humanValue).join(', ') : '-'
  if (typeof v === 'object') {
    const [first, ...rest] = Object.values(v as Record<string, unknown>).map(humanValue)
    return rest.length ? `${first} (${rest.join(', ')})` : (first ?? '-')
  }
  return String(v)
}
