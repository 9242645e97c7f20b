import type { Command } from 'commander'
import { UnsupportedOperationError } from '../../core/errors.js'
import type { KeyManager, Provider } from '../../providers/types.js'
import type { CliContext } from '../context.js'
import { collect, target } from './common.js'

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

export function registerKeys(parent: Command, ctx: CliContext): Command {
  const keys = parent.command('keys').description('long-lived API keys, where the provider has an API for them')
  keys
    .command('create')
    .description('create a key; prints its secret once on stdout')
    .argument('<provider>', 'provider id or alias')
    .option('--org <slug>', 'LupaSearch organization (default: from login)')
    .option('--project <slug>', 'LupaSearch project (default: from login)')
    .option('--description <text>', 'LupaSearch key description')
    .option('--access <level>', 'LupaSearch access: read | full (default read)')
    .option('--index <id>', 'LupaSearch index id, repeatable', collect)
    .option('--name <name>', 'Haut.ai key name')
    .option('--expires <when>', 'ISO-8601 date, a duration like 30d, or never')
    .option('--save', 'also store the new key in the profile')
    .action(async (provider: string) => {
      keyManagerOf(target(ctx, provider).provider, 'create')
    })
  keys
    .command('list')
    .description('list keys (masked)')
    .argument('<provider>', 'provider id or alias')
    .option('--org <slug>', 'LupaSearch organization')
    .option('--project <slug>', 'LupaSearch project')
    .action(async (provider: string) => {
      keyManagerOf(target(ctx, provider).provider, 'list')
    })
  keys
    .command('revoke')
    .description('revoke a key (asks first on a terminal; --yes otherwise)')
    .argument('<provider>', 'provider id or alias')
    .argument('<id>', 'key id')
    .option('--org <slug>', 'LupaSearch organization')
    .option('--project <slug>', 'LupaSearch project')
    .option('--yes', 'do not ask for confirmation')
    .action(async (provider: string) => {
      keyManagerOf(target(ctx, provider).provider, 'revoke')
    })
  return keys
}
