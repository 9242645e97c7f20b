import type { Command } from 'commander'
import { CancelledError, NonInteractiveError, UnsupportedOperationError, UsageError } from '../../kernel/errors.js'
import type { StoreBackend } from '../../kernel/config.js'
import { checkSegment } from '../../kernel/sanitize.js'
import { flagKey, flagName, flagUnion, keyFlagsFor, unionHelp } from '../../providers/descriptor.js'
import { allProviders } from '../../providers/registry.js'
import type { ApiKey, CreatedKey, Credential, FlagSpec, KeyManager, Provider } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { formatTable, printJson, relativeTime, terminalFit } from '../output.js'
import { addFlagSpec, givenFlags, minTtlOf, target, type Target, typedFlag } from './common.js'

/**
 * The one choke point for key management (STYLE rule 4): providers without a key API fail
 * here with exit 7 and the place in their UI where keys are managed.
 */
export function keyManagerOf(provider: Provider, operation: string): KeyManager {
  if (provider.keys) return provider.keys
  throw new UnsupportedOperationError(`${provider.displayName} has no API to ${operation} keys`, {
    hint: provider.keysElsewhere ?? 'manage keys in the provider UI',
  })
}

export interface KeysOptions {
  provider: string
  id?: string
  /** Flags as parsed (camelCase), only those given on the command line. */
  flags: Record<string, unknown>
}

type Op = 'create' | 'list' | 'revoke' | 'rotate'

/** Slugs given as flags go into URL paths: checked before anything else happens (exit 2). */
function checkPathFlags(flags: Record<string, unknown>): void {
  if (flags.org !== undefined) checkSegment(String(flags.org), 'organization slug')
  if (flags.project !== undefined) checkSegment(String(flags.project), 'project slug')
}

/** Manager, credential and a usable token for a key operation; flags the provider does not take are exit 2. */
export async function prepare(ctx: CliContext, opts: KeysOptions, op: Op) {
  const t: Target = target(ctx, opts.provider)
  const km = keyManagerOf(t.provider, op)
  const own = keyFlagsFor(t.provider, op)
  const accepted = new Set([...own, ...COMMON[op]].map(flagKey))
  for (const [key, value] of Object.entries(opts.flags)) {
    if (!accepted.has(key))
      throw new UsageError(`${typedFlag(key, value)} does not apply to ${t.provider.id} keys`, { hint: `see \`authctl keys ${op} ${t.provider.id} --help\`` })
  }
  checkPathFlags(opts.flags)
  // A missing required flag is said before the store is opened (a passphrase typed for nothing).
  for (const spec of own) {
    if (spec.required && opts.flags[flagKey(spec)] === undefined) throw new UsageError(`missing --${flagName(spec)}`, { hint: spec.required.hint })
  }
  const cred = await ctx.credentials().resolve(t.provider, t.ref)
  const token = await ctx.tokens().getToken(t.provider, t.ref, cred, minTtlOf(ctx, undefined))
  return { t, km, cred, token }
}

function keyJson(k: ApiKey): Record<string, unknown> {
  return { id: k.id, name: k.name, masked_key: k.maskedKey, expires_at: k.expiresAt, ...(k.access ? { access: k.access } : {}) }
}

export async function runKeysCreate(opts: KeysOptions, ctx: CliContext): Promise<void> {
  const { t, km, cred, token } = await prepare(ctx, opts, 'create')
  if (opts.flags.save && cred.source === 'environment') {
    throw new UsageError('--save stores the key in a logged-in profile, but these credentials come from the environment', {
      hint: `run \`authctl login ${t.provider.id}\` first, or drop --save`,
    })
  }
  const key = await km.create(cred, token, opts.flags, ctx.providerContext())
  // The secret goes to stdout exactly once, before anything that could fail.
  if (ctx.globals.json) printJson(ctx.io, key.raw)
  else ctx.io.out(`${key.secret}\n`)
  ctx.info(
    `Created ${t.provider.displayName} key ${key.id}${key.name ? ` (${key.name})` : ''}, ${key.expiresAt ? `expires ${key.expiresAt}` : 'no expiry'}. The secret is shown only this once.`,
  )
  if (opts.flags.save && cred.source !== 'environment') {
    await saveKey(ctx, t, cred, km, key)
    ctx.info(`Saved it in profile ${t.ref.profile}; \`authctl token\` and \`exec\` use it from now on.`)
  }
}

/** Stores a created key in the profile (secret first, then its id and expiry in the config). */
export async function saveKey(ctx: CliContext, t: Target, cred: Credential, km: KeyManager, key: CreatedKey): Promise<void> {
  const saved = km.save(key)
  await ctx.credentials().storeSecret(t.ref, cred.source as StoreBackend, { ...cred.secret, ...saved.secret })
  await ctx.config().update((cfg) => {
    const rec = cfg.profiles[`${t.ref.provider}:${t.ref.profile}`]
    if (rec) rec.data = { ...rec.data, ...saved.data }
  })
}

export async function runKeysList(opts: KeysOptions, ctx: CliContext): Promise<void> {
  const { km, cred, token } = await prepare(ctx, opts, 'list')
  const keys = await km.list(cred, token, opts.flags, ctx.providerContext())
  if (ctx.globals.json) return printJson(ctx.io, keys.map(keyJson))
  if (keys.length === 0) return ctx.info('No keys.')
  const now = ctx.clock.now()
  const withAccess = keys.some((k) => k.access)
  const header = ['ID', 'NAME', 'KEY', ...(withAccess ? ['ACCESS'] : []), 'EXPIRES']
  const rows = keys.map((k) => [
    k.id,
    k.name,
    k.maskedKey,
    ...(withAccess ? [k.access ?? '-'] : []),
    k.expiresAt ? `${k.expiresAt.slice(0, 10)} (${relativeTime(Date.parse(k.expiresAt), now)})` : 'never',
  ])
  ctx.io.out(formatTable(header, rows, terminalFit(ctx.io, [0, 2]) /* ID and KEY whole */))
}

/** Asks on a terminal (declining is exit 130); without one, --yes is required. */
export async function confirmKeyOp(ctx: CliContext, opts: KeysOptions, doing: string, question: string): Promise<void> {
  if (opts.flags.yes) return
  if (!ctx.interactive) throw new NonInteractiveError(`${doing} needs confirmation`, { hint: 'pass --yes' })
  const ok = await ctx.prompter().confirm(question, { default: false })
  if (!ok) throw new CancelledError('nothing changed')
}

export async function runKeysRevoke(opts: KeysOptions, ctx: CliContext): Promise<void> {
  const id = opts.id ?? ''
  const t = target(ctx, opts.provider)
  keyManagerOf(t.provider, 'revoke')
  checkSegment(id, 'key id')
  checkPathFlags(opts.flags)
  await confirmKeyOp(ctx, opts, `revoking ${t.provider.displayName} key ${id}`, `Revoke ${t.provider.displayName} key ${id}? Anything using it stops working.`)
  const { km, cred, token } = await prepare(ctx, opts, 'revoke')
  await km.revoke(cred, token, id, opts.flags, ctx.providerContext())
  ctx.info(`Revoked ${t.provider.displayName} key ${id}.`)
  if (ctx.globals.json) printJson(ctx.io, { provider: t.provider.id, profile: t.ref.profile, id, revoked: true })
}

/** Flags every key manager takes, per subcommand. */
const COMMON: Record<Op, FlagSpec[]> = {
  create: [{ flags: '--save', help: 'also store the new key in the profile for token/exec' }],
  list: [],
  revoke: [{ flags: '--yes', help: 'do not ask for confirmation' }],
  rotate: [{ flags: '--yes', help: 'do not ask for confirmation' }],
}

/** The options of one `keys` subcommand: each provider's flags, in its own words, named per provider. */
function addKeyFlags(cmd: Command, op: Op): Command {
  const union = flagUnion(
    allProviders().filter((p) => p.keys),
    (p) => keyFlagsFor(p, op),
  )
  for (const { spec, providers } of union.values()) {
    addFlagSpec(
      cmd,
      spec,
      unionHelp(spec, providers, (p) => keyFlagsFor(p, op), 'names'),
    )
  }
  for (const f of COMMON[op]) cmd.option(f.flags, f.help)
  return cmd
}

function keysDescription(): { withApi: string; elsewhere: string } {
  const names = (ps: Provider[]) => ps.map((p) => p.displayName).join(', ')
  return { withApi: names(allProviders().filter((p) => p.keys)), elsewhere: names(allProviders().filter((p) => !p.keys)) }
}

/** `keys revoke` and `keys rotate`: the two that end a key. */
function registerKeyChanges(keys: Command, ctx: CliContext): void {
  addKeyFlags(keys.command('revoke'), 'revoke')
    .description('revoke a key (asks first on a terminal; --yes otherwise)')
    .argument('<provider>', 'provider id or alias')
    .argument('<id>', 'key id (see `keys list`)')
    .addHelpText(
      'after',
      '\nExamples:\n  authctl keys revoke haut 42 --yes\n  authctl keys revoke lupa b2381908-eb9c-47b5-9e3b-a6986e000939 --project shop --yes',
    )
    .action(async (provider: string, id: string, _o: unknown, self: Command) => runKeysRevoke({ provider, id, flags: givenFlags(self) }, ctx))
  addKeyFlags(keys.command('rotate'), 'rotate')
    .description('replace a key: create one like it, check it, save it where the old one was saved, revoke the old one')
    .argument('<provider>', 'provider id or alias')
    .argument('<id>', 'key id (see `keys list`)')
    .addHelpText(
      'after',
      `
The new secret is printed once on stdout (--json: the whole object) as soon as it exists.
Each step is reported on stderr; if one fails, the message says which keys exist and work.

Examples:
  authctl keys rotate haut 42 --yes --expires 30d
  authctl keys rotate lupa b2381908-eb9c-47b5-9e3b-a6986e000939 --project shop --yes`,
    )
    .action(async (provider: string, id: string, _o: unknown, self: Command) => {
      const { runKeysRotate } = await import('./keys-rotate.js')
      await runKeysRotate({ provider, id, flags: givenFlags(self) }, ctx)
    })
}

export function registerKeys(parent: Command, ctx: CliContext): Command {
  const { withApi, elsewhere } = keysDescription()
  const keys = parent
    .command('keys')
    .description(`long-lived API keys, where the provider has an API for them (${withApi})`)
    .addHelpText(
      'after',
      `
${elsewhere} manage keys in their UIs only (exit 7 says where).

Examples:
  authctl keys create haut --name ci --expires 30d
  authctl keys list lupa --project shop --json
  authctl keys revoke haut 42 --yes
  authctl keys rotate haut 42 --yes`,
    )
  addKeyFlags(keys.command('create'), 'create')
    .description('create a key; prints its secret once on stdout (--json: the whole object)')
    .argument('<provider>', 'provider id or alias')
    .addHelpText(
      'after',
      `
Examples:
  authctl keys create lupasearch --org acme --project shop --description "staging import" --access full --save
  authctl keys create haut --name ci --expires 30d > haut-token.txt`,
    )
    .action(async (provider: string, _o: unknown, self: Command) => runKeysCreate({ provider, flags: givenFlags(self) }, ctx))
  addKeyFlags(keys.command('list'), 'list')
    .description('list keys with masked values (all pages)')
    .argument('<provider>', 'provider id or alias')
    .addHelpText(
      'after',
      '\nExamples:\n  authctl keys list lupasearch --project shop\n  authctl keys list haut --json | jq -r \'.[] | select(.expires_at < "2027") | .id\'',
    )
    .action(async (provider: string, _o: unknown, self: Command) => runKeysList({ provider, flags: givenFlags(self) }, ctx))
  registerKeyChanges(keys, ctx)
  return keys
}
