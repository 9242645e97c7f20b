import type { Command } from 'commander'
import { UsageError } from '../../kernel/errors.js'
import { secretValues } from '../../exec/mask.js'
import { registerMasks } from '../ci.js'
import type { CliContext } from '../context.js'
import { ENV_FORMATS, formatVars, type EnvFormat } from '../env-format.js'
import { addEnvSelection, minTtlOf } from './common.js'
import { execVars } from './exec.js'

export interface EnvOptions {
  providers: string[]
  scopes: string[]
  minTtl?: string
  format: EnvFormat
}

export function registerEnv(parent: Command, ctx: CliContext, runF = runEnv): Command {
  return addEnvSelection(parent.command('env'), 'tokens printed have at least this long left (default 300)')
    .description('print the variables exec would set, for every provider at once (sh, dotenv, powershell, json)')
    .option('--format <format>', 'sh | dotenv | powershell | json', 'sh')
    .addHelpText(
      'after',
      `
sh: export NAME='value' lines; dotenv: NAME=value lines (docker run --env-file, $GITHUB_ENV;
a value with a line break, #, a leading quote or edge spaces is refused, exit 2);
powershell: $env:NAME = 'value' lines; json: one object. --json is --format json.
Under GitHub Actions (GITHUB_ACTIONS=true) every secret is first registered with the runner
as ::add-mask:: on stderr. No credentials at all is exit 4.

Examples:
  eval "$(authctl env)"
  authctl env --format dotenv >> "$GITHUB_ENV"      # later steps see the tokens too
  docker run --rm --env-file <(authctl env --provider lucidworks --format dotenv) IMAGE
  authctl env --format powershell | Invoke-Expression`,
    )
    .action(async (o: { provider?: string[]; scope?: string[]; minTtl?: string; format: string }) => {
      const format = ctx.globals.json && o.format === 'sh' ? 'json' : o.format
      if (!(ENV_FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(`--format must be sh, dotenv, powershell or json; got ${JSON.stringify(format)}`)
      }
      await runF({ providers: o.provider ?? [], scopes: o.scope ?? [], minTtl: o.minTtl, format: format as EnvFormat }, ctx)
    })
}

export async function runEnv(opts: EnvOptions, ctx: CliContext): Promise<void> {
  const vars = await execVars(ctx, { providers: opts.providers, scopes: opts.scopes, minTtl: minTtlOf(ctx, opts.minTtl) })
  const text = formatVars(vars, opts.format)
  registerMasks(ctx, secretValues(vars))
  ctx.io.out(text)
}
