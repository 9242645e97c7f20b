import { envCredential } from '../../tokens/credentials.js'
import { envHint, envVerb } from '../../providers/descriptor.js'
import type { Command } from 'commander'
import { NotFoundError } from '../../kernel/errors.js'
import { accountFor } from '../../store/types.js'
import type { CliContext } from '../context.js'
import { printJson } from '../output.js'
import { profileSuffix, target } from './common.js'

export interface LogoutOptions {
  provider: string
}

export function registerLogout(parent: Command, ctx: CliContext, runF = runLogout): Command {
  return parent
    .command('logout')
    .description("remove a profile's stored secrets and cached tokens")
    .argument('<provider>', 'provider id or alias')
    .addHelpText('after', '\nExamples:\n  authctl logout lucidworks\n  authctl --profile staging logout lucidworks')
    .action(async (provider: string) => runF({ provider }, ctx))
}

/**
 * Secret first, then cached tokens, then the profile entry: if the store fails (exit 6),
 * nothing else has changed and the logout can simply be repeated.
 */
export async function runLogout(opts: LogoutOptions, ctx: CliContext): Promise<void> {
  const { provider, ref } = target(ctx, opts.provider)
  const record = ctx.config().get(ref)
  let removedSecret = false
  let revoked: boolean | undefined
  if (record && provider.logout) {
    // Revoke provider-side first; a failure is reported but does not keep the local secret.
    const cred = await ctx
      .credentials()
      .resolveStored(provider, ref)
      .catch(() => undefined)
    if (cred) {
      try {
        await provider.logout(cred, ctx.providerContext())
        revoked = true
      } catch (err) {
        revoked = false
        ctx.warn(`could not revoke the ${provider.displayName} grant: ${(err as Error).message}; revoke the app in ${provider.displayName} if it matters`)
      }
    }
  }
  if (record) {
    const store = await ctx.stores.open(record.store)
    removedSecret = await store.delete(accountFor(ref.provider, ref.profile))
  }
  const removedTokens = ctx.cache().clear(ref)
  const removedProfile = record ? await ctx.config().remove(ref) : false
  if (!record && !removedTokens) {
    throw new NotFoundError(`not logged in to ${provider.displayName} (profile ${ref.profile})`, {
      hint: `see \`authctl status\`${profileSuffix(ref.profile) ? ` (or drop${profileSuffix(ref.profile)})` : ''}`,
    })
  }
  ctx.info(`Logged out of ${provider.displayName} (profile ${ref.profile}).`)
  if (envCredential(provider, ctx.env)) ctx.warn(`${envHint(provider)} ${envVerb(provider)} still set in this environment`)
  if (ctx.globals.json) {
    printJson(ctx.io, {
      provider: provider.id,
      profile: ref.profile,
      removed_secret: removedSecret,
      removed_tokens: removedTokens,
      removed_profile: removedProfile,
      ...(revoked === undefined ? {} : { revoked }),
    })
  }
}
