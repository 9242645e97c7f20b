import type { MinTtl } from '../../tokens/service.js'
import { envHint } from '../../providers/descriptor.js'
import type { Command } from 'commander'
import { AuthctlError, AuthRequiredError, UsageError } from '../../kernel/errors.js'
import { buildChildEnv } from '../../exec/env.js'
import type { FreshSource } from '../../exec/keep-fresh.js'
import { secretValues } from '../../exec/mask.js'
import { envCredential, halfSetEnv } from '../../tokens/credentials.js'
import { scrubbedNames, scrubbedValues } from '../../exec/scrub.js'
import { listNames, wrap } from '../output.js'
import { allProviders, getProvider } from '../../providers/registry.js'
import type { Provider } from '../../providers/types.js'
import { maskWanted, registerMasks } from '../ci.js'
import type { CliContext } from '../context.js'
import { addEnvSelection, minTtlOf } from './common.js'
import { tokensForEnv } from './token.js'

export interface ExecOptions {
  providers: string[]
  scopes: string[]
  minTtl?: string
  mask: boolean
  /** Stay beside the child and keep token files fresh (exec/keep-fresh.ts). */
  keepFresh?: boolean
  command: string[]
}

export function registerExec(parent: Command, ctx: CliContext, runF = runExec): Command {
  return addEnvSelection(parent.command('exec'), 'tokens handed over have at least this long left (default 300)')
    .description('run a command with fresh tokens in its environment')
    .option('--mask', "replace injected secrets in the child's output with *** (env AUTHCTL_MASK=1; default in CI when stdout is not a terminal)")
    .option('--no-mask', "leave the child's output untouched, also in CI (env AUTHCTL_MASK=0)")
    .option('--keep-fresh', 'keep renewing while the command runs; read tokens from the *_FILE / *_HEADERS_FILE variables')
    .argument('<command...>', 'the command and its arguments, after --')
    .addHelpText(
      'after',
      `
The command runs without a shell: write variables the child should expand inside sh -c '…'
(in your own shell, $LUCIDWORKS_ACCESS_TOKEN is expanded before authctl runs, and is empty).

The child gets tokens, never keys to the vault: login secrets (client secrets, passwords,
refresh tokens) are never passed on, and inherited ${wrap(`${listNames(scrubbedNames(allProviders().flatMap((p) => p.env.secrets)))} are removed (masking hides their values too).`, 'refresh tokens) are never passed on, and inherited '.length)}
In CI (CI set) with stdout not a terminal, the child's output is masked by default. Under
GitHub Actions (GITHUB_ACTIONS=true) every injected secret is also registered with the runner
as ::add-mask:: on stderr before the command starts. No credentials at all is exit 4.

Examples:
  authctl exec -- sh -c 'curl -sf -H "Authorization: Bearer $LUCIDWORKS_ACCESS_TOKEN" -d @request.json https://my-app.applications.lucidworks.com/ai/prediction/passthrough/llama-3-8b'
  authctl exec --provider lucidworks --scope machinelearning.model -- ./sync-models.sh
  authctl exec --mask -- ./deploy.sh          # a leaked token shows as *** in the output
  authctl exec --no-mask -- ./gen-report.sh   # in CI, masking is on by default; this turns it off
  authctl exec --keep-fresh -- sh -c 'curl -sf -H @"$LUCIDWORKS_HEADERS_FILE" -d @request.json https://my-app.applications.lucidworks.com/ai/prediction/passthrough/llama-3-8b'   # long jobs`,
    )
    .action(async (command: string[], o: { provider?: string[]; scope?: string[]; minTtl?: string; mask?: boolean; keepFresh?: boolean }) =>
      runF(
        { providers: o.provider ?? [], scopes: o.scope ?? [], minTtl: o.minTtl, mask: maskWanted(ctx, o.mask), keepFresh: Boolean(o.keepFresh), command },
        ctx,
      ),
    )
}

/**
 * Providers named with --provider, or every provider with credentials in the profile or env. A
 * half-set environment credential (an id without its secret) is selected when nothing else is,
 * so that its resolution fails naming the missing variable instead of the command running
 * without it; next to usable credentials it is skipped with a warning.
 */
function selectProviders(ctx: CliContext, names: readonly string[]): Provider[] {
  if (names.length > 0) return [...new Map(names.map((n) => getProvider(n)).map((p) => [p.id, p])).values()]
  const stored = new Set(
    ctx
      .config()
      .list()
      .filter((r) => r.profile === ctx.profile)
      .map((r) => r.provider),
  )
  const usable = allProviders().filter((p) => stored.has(p.id) || envCredential(p, ctx.env))
  if (usable.length > 0) {
    // Another provider's stray variable (a password with no email) does not stop this run.
    for (const p of allProviders()) {
      const half = usable.includes(p) ? undefined : halfSetEnv(p, ctx.env)
      if (half) ctx.warn(`${p.displayName} skipped: ${half.set.join(' and ')} set without ${half.missing.join(' and ')}`)
    }
    return usable
  }
  return allProviders().filter((p) => halfSetEnv(p, ctx.env))
}

/**
 * The provider variables `exec` injects (tokens renewed as needed), for the selected providers.
 * Every provider's tokens are fetched before anything runs: one failure names its provider and
 * exits with its code, and a command never starts half-equipped. Also used by the library's getEnv.
 * `sources` is what `--keep-fresh` keeps fresh (`renewEarly` renews ahead of peers).
 */
export async function collectExecEnv(
  ctx: CliContext,
  opts: { providers: readonly string[]; scopes: readonly string[]; minTtl: MinTtl; renewEarly?: boolean },
): Promise<{ providers: Provider[]; vars: Record<string, string>; sources: FreshSource[] }> {
  const providers = selectProviders(ctx, opts.providers)
  const vars: Record<string, string> = {}
  const sources: FreshSource[] = []
  for (const provider of providers) {
    const ref = { provider: provider.id, profile: ctx.profile }
    try {
      const cred = await ctx.credentials().resolve(provider, ref)
      const tokens = await tokensForEnv(ctx, { provider, ref }, cred, opts.scopes, opts.minTtl, { renewEarly: opts.renewEarly })
      Object.assign(vars, provider.envVars(cred, tokens))
      sources.push({ provider, ref, cred, scopes: opts.scopes, tokens })
    } catch (err) {
      throw namedFailure(provider, err)
    }
  }
  return { providers, vars, sources }
}

/**
 * The variables `exec` sets in a child's environment (`authctl env` prints them, the library's
 * getEnv returns them): the selected providers' variables plus AUTHCTL_PROFILE. No credentials
 * at all (nothing stored in the profile, nothing in the environment) is exit 4.
 */
export async function execVars(
  ctx: CliContext,
  opts: { providers: readonly string[]; scopes: readonly string[]; minTtl: MinTtl },
): Promise<Record<string, string>> {
  const { vars } = await collectExecEnvOrFail(ctx, opts)
  return { ...vars, AUTHCTL_PROFILE: ctx.profile }
}

/** collectExecEnv, with no credentials at all being exit 4 (exec then runs nothing). */
async function collectExecEnvOrFail(ctx: CliContext, opts: Parameters<typeof collectExecEnv>[1]): ReturnType<typeof collectExecEnv> {
  const collected = await collectExecEnv(ctx, opts)
  if (collected.providers.length === 0) {
    throw new AuthRequiredError(`no credentials in profile ${ctx.profile}: nothing stored and no provider variables in the environment`, {
      hint: `run \`authctl login PROVIDER\`, or set ${allProviders()
        .map((p) => envHint(p))
        .join('; or ')}`,
    })
  }
  return collected
}

export async function runExec(opts: ExecOptions, ctx: CliContext): Promise<void> {
  const [command, ...args] = opts.command
  if (!command) throw new UsageError('missing command', { hint: 'authctl exec -- COMMAND [ARGS...]' })
  const minTtl = minTtlOf(ctx, opts.minTtl)
  const { vars: inject, sources } = await collectExecEnvOrFail(ctx, {
    providers: opts.providers,
    scopes: opts.scopes,
    minTtl,
    renewEarly: opts.keepFresh,
  })
  // Tokens only: nothing that unlocks the store, the shared cache or a login goes to the child.
  const unset = scrubbedNames(allProviders().flatMap((p) => p.env.secrets))
  registerMasks(ctx, secretValues(inject))
  const { runChild } = await import('../../exec/run.js')
  // Synchronous from here to the spawn: the token directory exists only while runChild watches.
  const keeper = opts.keepFresh ? (await import('../../exec/keep-fresh.js')).startKeepFresh(ctx, sources, minTtl) : undefined
  keeper?.onSecret((secret) => registerMasks(ctx, [secret])) // renewed tokens, under GitHub Actions
  const env = buildChildEnv(ctx.env, { ...inject, ...keeper?.vars }, { unset, profile: ctx.profile })
  // On a terminal, Ctrl-C already reaches the child through the process group: forwarding it
  // too would deliver it twice, so authctl only survives it and waits for the child.
  const tty = ctx.io.stdinIsTTY
  const result = await runChild(command, args, {
    env,
    forward: tty ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'],
    ignore: tty ? ['SIGINT', 'SIGQUIT'] : [],
    ...(opts.mask
      ? { mask: [...secretValues({ ...inject, ...keeper?.vars }), ...scrubbedValues(ctx.env, unset)], ...(keeper ? { onMaskers: keeper.onSecret } : {}) }
      : {}),
  }).finally(() => keeper?.stop())
  if (result.error) ctx.io.err(`authctl: ${result.error}\n`)
  ctx.exitCode = result.code
}

/** Prefixes our error's message with the provider that failed (nothing has run yet). */
function namedFailure(provider: Provider, err: unknown): unknown {
  if (err instanceof AuthctlError && !err.message.includes(provider.displayName)) err.message = `${provider.displayName}: ${err.message}`
  return err
}
