import { listNames } from './output.js'
import { globalsFrom } from './settings.js'
import { allProviders } from '../providers/registry.js'
import { Command, Option } from 'commander'
import { registerComplete } from './complete.js'
import type { CliContext } from './context.js'
import { registerDoctor } from './commands/doctor.js'
import { registerEnv } from './commands/env.js'
import { registerExec } from './commands/exec.js'
import { registerKeys } from './commands/keys.js'
import { registerLogin } from './commands/login.js'
import { registerLogout } from './commands/logout.js'
import { registerStatus } from './commands/status.js'
import { registerToken } from './commands/token.js'
import { registerWhoami } from './commands/whoami.js'

import { VERSION } from './version.js'

/**
 * The root command. exitOverride and configureOutput come first so that every subcommand made
 * with `.command()` inherits them: commander never calls process.exit, and its messages go to
 * stderr as one line with a hint.
 */
export function createProgram(ctx: CliContext): Command {
  const program = new Command('authctl')
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      // Parse errors are printed by main.ts's report(), which knows the argv (src/cli/mistakes.ts).
      outputError: () => undefined,
    })
    .showSuggestionAfterError()
    .description(`One CLI for the API credentials of ${listNames(allProviders().map((p) => p.displayName))}.`)
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addOption(new Option('--profile <name>', 'named set of credentials (env AUTHCTL_PROFILE)'))
    .option('--json', 'print the result as one JSON document')
    .option('--verbose', 'debug lines on stderr (never secrets)')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .hook('preAction', (_root, action) => {
      const o = action.optsWithGlobals()
      ctx.globals = globalsFrom(o, ctx.env, ctx.io.stderrIsTTY)
      // A fleet without a usable key is exit 2 before any request (doctor reports it as a check).
      if (!['completion', 'doctor'].includes(action.name())) ctx.fleet.url()
    })
  program.addHelpText(
    'after',
    `
Examples:
  authctl login lucidworks --client-id 0oa1b2c3 --client-secret-stdin < secret.txt
  authctl token lucidworks --scope machinelearning.predict
  authctl exec -- sh -c 'curl -sf -H "Authorization: Bearer $LUCIDWORKS_ACCESS_TOKEN" -d @request.json https://my-app.applications.lucidworks.com/ai/prediction/passthrough/llama-3-8b'
  authctl env --format dotenv >> "$GITHUB_ENV"
  authctl status

Exit codes: 0 ok, 1 bug, 2 usage, 3 not found, 4 auth, 5 provider/network, 6 secret store,
7 unsupported by provider, 130 interrupted; exec passes the child's code through.`,
  )
  registerLogin(program, ctx)
  registerLogout(program, ctx)
  registerToken(program, ctx)
  registerWhoami(program, ctx)
  registerStatus(program, ctx)
  registerDoctor(program, ctx)
  registerKeys(program, ctx)
  registerExec(program, ctx)
  registerEnv(program, ctx)
  registerComplete(program, ctx)
  return program
}
