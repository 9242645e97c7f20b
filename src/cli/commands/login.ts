import { envHint, envVerb } from '../../providers/descriptor.js'
import { Command } from 'commander'
import type { ProfileRecord } from '../../kernel/config.js'
import { cacheKeyMaterial, envCredential } from '../../tokens/credentials.js'
import { CancelledError, NonInteractiveError, UsageError } from '../../kernel/errors.js'
import { allProviders, findProvider, getProvider } from '../../providers/registry.js'
import { flagHelp, flagKey, flagUnion, unionHelp } from '../../providers/descriptor.js'
import type { Credential, Provider } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { printJson } from '../output.js'
import { addFlagSpec, givenFlags, target, typedFlag } from './common.js'

export interface LoginOptions {
  provider?: string
  /** Flags as parsed (camelCase keys), only those given on the command line. */
  flags: Record<string, unknown>
}

/** Every provider's login flags, once each (providers share `--scope`, `--email`, …). */
export function loginFlagUnion() {
  return flagUnion(allProviders(), (p) => p.loginFlags)
}

/** `authctl login PROVIDER --help`: that provider's flags only, in its own words, with its variables. */
export function providerLoginHelp(p: Provider): string {
  const cmd = new Command(`authctl login ${p.id}`).description(`log in to ${p.displayName}`).helpOption('-h, --help', 'show help')
  for (const f of p.loginFlags) addFlagSpec(cmd, f, flagHelp(f))
  const vars = [...p.env.credentials.flat(), ...(p.env.extras ?? [])]
  const eps = p.endpoints.map((e) => `  ${e.variable}  ${e.label}${e.url ? ` (default ${e.url})` : ''}`)
  return `${cmd.helpInformation()}\nEnvironment instead of a login (CI): ${vars.join(', ')}\n${eps.length ? `Endpoint overrides:\n${eps.join('\n')}\n` : ''}`
}

const LOGIN_NOTES = `
\`authctl login PROVIDER --help\` shows one provider's flags and the variables that replace them.
Secrets are read from a masked prompt, from stdin with a --*-stdin flag, or from the
environment; never from a flag value. Without a terminal, a missing value is exit 2.

Examples:
  authctl login lucidworks --client-id 0oa1b2c3 --client-secret-stdin < secret.txt
  LUCIDWORKS_CLIENT_ID=… LUCIDWORKS_CLIENT_SECRET=… authctl login lucidworks --scope machinelearning.model
  authctl --profile staging login lucidworks
`

export function registerLogin(parent: Command, ctx: CliContext, runF = runLogin): Command {
  const ids = allProviders().map((p) => (p.aliases.length ? `${p.id} (${p.aliases.join(', ')})` : p.id))
  const cmd = parent
    .command('login')
    .description('log in to a provider and keep the secret in the OS keychain (or the encrypted file store)')
    .argument('[provider]', ids.join(', '))
  for (const { spec, providers } of loginFlagUnion().values())
    addFlagSpec(
      cmd,
      spec,
      unionHelp(spec, providers, (p) => p.loginFlags, 'ids'),
    )
  // With a provider named (`login lucid --help`), help is that provider's alone.
  const general = cmd.helpInformation.bind(cmd)
  cmd.helpInformation = (context) => {
    const named = cmd.args.find((a) => !a.startsWith('-'))
    const p = named ? findProvider(named) : undefined
    return p ? providerLoginHelp(p) : general(context) + LOGIN_NOTES
  }
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
  const accepted = new Set(provider.loginFlags.map(flagKey))
  for (const [key, value] of Object.entries(flags)) {
    if (!accepted.has(key)) {
      throw new UsageError(`${typedFlag(key, value)} does not apply to ${provider.id}`, { hint: `see \`authctl login ${provider.id} --help\`` })
    }
  }
}

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
  const store = await ctx.stores.forNewLogin()
  const result = await provider.login(
    { options: opts.flags, readStdin: () => ctx.io.readStdin(), readStdinLine: () => ctx.io.readStdinLine(), interactive: ctx.interactive },
    ctx.providerContext(),
  )
  const secret = await ctx.credentials().storeSecret(ref, store.backend, result.secret)
  if (existing && existing.store !== store.backend) {
    await (await ctx.stores.open(existing.store)).delete(`${ref.provider}:${ref.profile}`).catch(() => false)
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
  if (envCredential(provider, ctx.env)) {
    const one = envVerb(provider) === 'is'
    ctx.warn(`${envHint(provider)} ${one ? 'is' : 'are'} set in this environment and take${one ? 's' : ''} precedence over the stored login`)
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
