import type { Command } from 'commander'
import type { ProfileRecord } from '../../kernel/config.js'
import { cacheKeyMaterial } from '../../tokens/service.js'
import { CancelledError, NonInteractiveError, UsageError } from '../../kernel/errors.js'
import { allProviders, getProvider } from '../../providers/registry.js'
import type { Credential, LoginFlag, Provider } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { printJson } from '../output.js'
import { collect, givenFlags, kebab, target } from './common.js'

export interface LoginOptions {
  provider?: string
  /** Flags as parsed (camelCase keys), only those given on the command line. */
  flags: Record<string, unknown>
}

/** Every provider's login flags, once each (providers may share `--scope`, `--email`, …). */
export function loginFlagUnion(): Map<string, { flag: LoginFlag; providers: string[] }> {
  const union = new Map<string, { flag: LoginFlag; providers: string[] }>()
  for (const p of allProviders()) {
    for (const f of p.loginFlags) {
      const name = f.flags.split(/[ ,]/)[0] as string
      const entry = union.get(name)
      if (entry) entry.providers.push(p.id)
      else union.set(name, { flag: f, providers: [p.id] })
    }
  }
  return union
}

export function registerLogin(parent: Command, ctx: CliContext, runF = runLogin): Command {
  const cmd = parent
    .command('login')
    .description('log in to a provider and keep the secret in the OS keychain (or the encrypted file store)')
    .argument('[provider]', 'lucidworks, lupasearch (lupa), instabase (aihub), lucid, haut (hautai)')
  for (const { flag, providers } of loginFlagUnion().values()) {
    const desc = `${flag.description} [${providers.join(', ')}]`
    if (flag.repeatable) cmd.option(flag.flags, desc, collect)
    else cmd.option(flag.flags, desc)
  }
  cmd.addHelpText(
    'after',
    `
Secrets are read from a masked prompt, from stdin with a --*-stdin flag, or from the
environment; never from a flag value. Without a terminal, a missing value is exit 2.

Examples:
  authctl login lucidworks --client-id 0oa1b2c3 --client-secret-stdin < secret.txt
  LUCIDWORKS_CLIENT_ID=… LUCIDWORKS_CLIENT_SECRET=… authctl login lucidworks --scope machinelearning.model
  authctl --profile staging login lucidworks`,
  )
  cmd.action(async (provider: string | undefined, _opts: unknown, self: Command) => runF({ provider, flags: givenFlags(self) }, ctx))
  return cmd
}

async function chooseProvider(ctx: CliContext): Promise<Provider> {
  if (!ctx.interactive) {
    throw new NonInteractiveError('missing provider', {
      hint:
        'run `authctl login <provider>`; providers: ' +
        allProviders()
          .map((p) => p.id)
          .join(', '),
    })
  }
  const id = await ctx.prompter().select(
    'Log in to which provider?',
    allProviders().map((p) => ({ name: p.displayName, value: p.id })),
  )
  return getProvider(id)
}

function checkFlagsApply(provider: Provider, flags: Record<string, unknown>): void {
  const accepted = new Set(provider.loginFlags.map((f) => camel(f.flags.split(/[ ,]/)[0] as string)))
  for (const key of Object.keys(flags)) {
    if (!accepted.has(key)) {
      throw new UsageError(`--${kebab(key)} does not apply to ${provider.id}`, { hint: `see \`authctl login --help\`` })
    }
  }
}

const camel = (flag: string) => flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

export async function runLogin(opts: LoginOptions, ctx: CliContext): Promise<void> {
  const provider = opts.provider ? getProvider(opts.provider) : await chooseProvider(ctx)
  checkFlagsApply(provider, opts.flags)
  const { ref } = target(ctx, provider.id)
  const config = ctx.config()
  const existing = config.get(ref)
  if (existing && ctx.interactive) {
    const ok = await ctx.prompter().confirm(`Replace the existing ${provider.displayName} login of profile ${ref.profile}?`, { default: false })
    if (!ok) throw new CancelledError('login cancelled; the existing login is unchanged')
  }
  // The store is checked before the user types anything they would have to type again.
  const store = await ctx.storeForNewLogin()
  const result = await provider.login({ options: opts.flags, readStdin: () => ctx.io.readStdin(), interactive: ctx.interactive }, ctx.providerContext())
  const tokens = ctx.tokens()
  const secret = await tokens.storeSecret(ref, store.backend, result.secret)
  if (existing && existing.store !== store.backend) {
    await (await ctx.openStore(existing.store)).delete(`${ref.provider}:${ref.profile}`).catch(() => false)
  }
  const now = new Date(ctx.clock.now()).toISOString()
  const record: ProfileRecord = {
    provider: provider.id,
    profile: ref.profile,
    kind: result.kind,
    store: store.backend,
    data: result.data,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  }
  await config.put(record)
  const cache = ctx.cache()
  cache.clear(ref)
  const cred: Credential = { kind: result.kind, source: store.backend, secret, data: result.data }
  const material = cacheKeyMaterial(cred)
  for (const t of result.tokens ?? []) cache.write(ref, t.slot, material, t.token)
  ctx.info(`${result.summary}; secret stored in the ${store.backend === 'keychain' ? 'OS keychain' : `${store.backend} store`} (profile ${ref.profile}).`)
  if (provider.fromEnv(ctx.env)) {
    ctx.warn(`${provider.envHint} are set in this environment and take precedence over the stored login`)
  }
  if (ctx.globals.json) {
    printJson(ctx.io, { provider: provider.id, profile: ref.profile, kind: result.kind, store: store.backend, ...publicData(result.data) })
  }
}

/** Non-secret login data in snake_case for JSON output. */
export function publicData(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(data)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v
  return out
}
