import type { CommanderError } from 'commander'
import { allProviders, findProvider } from '../providers/registry.js'

/** One usage error as the user sees it: what is wrong, then what to do instead. */
export interface Explained {
  message: string
  hint: string
}

/** Commands that take the provider as their first argument (`exec` has a real --provider). */
const PROVIDER_POSITIONAL = new Set(['login', 'logout', 'token', 'whoami', 'status', 'keys'])

/**
 * Turns commander's generic parse errors into what to do instead, for the mistakes people
 * actually make: a secret as a flag value, `exec` without `--`, `--provider` where the provider
 * is an argument. Never echoes an option's value (`--client-secret=s3cr3t` shows the name only).
 */
export function explainParseError(err: CommanderError, argv: readonly string[]): Explained {
  const words = commandWords(argv)
  const help = `see \`authctl ${words.length && err.code !== 'commander.unknownCommand' ? `${words.join(' ')} ` : ''}--help\``
  if (err.code === 'commander.unknownOption') {
    const flag = /unknown option '([^']*)'/.exec(err.message)?.[1] ?? ''
    const name = flag.split('=')[0] as string
    return (
      secretFlag(name, argv) ??
      execWithoutDashes(name, words, argv) ??
      providerFlag(name, words, argv) ?? {
        message: `unknown option '${name}'${flag.includes('=') ? '' : suggestion(err.message)}`,
        hint: help,
      }
    )
  }
  return { message: oneLine(err.message.replace(/^error: /, '')), hint: help }
}

/** `--client-secret X`, `--password X`, `--api-key X`, `--token X`: the `--*-stdin` flag and variable. */
function secretFlag(name: string, argv: readonly string[]): Explained | undefined {
  const stdinFlag = `${name}-stdin`
  const owners = allProviders().filter((p) => p.loginFlags.some((f) => f.flags === stdinFlag))
  if (owners.length === 0) return undefined
  // The provider typed on the command line, if any; else every provider with that flag.
  const named = new Set(argv.map((a) => findProvider(a)))
  const typed = owners.filter((p) => named.has(p))
  const vars = (typed.length ? typed : owners).map((p) => p.loginFlags.find((f) => f.flags === stdinFlag)?.env).filter(Boolean)
  const provider = typed[0]?.id ?? 'PROVIDER'
  return {
    message: `${name} would put the secret in your shell history and the process list: authctl never takes a secret as a flag value`,
    hint: `pipe it to ${stdinFlag} (\`authctl login ${provider} … ${stdinFlag} < file\`), or set ${vars.join(' / ')} in the environment`,
  }
}

/** `authctl exec curl -s URL`: the command's own options were read as authctl's. */
function execWithoutDashes(name: string, words: readonly string[], argv: readonly string[]): Explained | undefined {
  if (words[0] !== 'exec' || argv.includes('--')) return undefined
  const command = positionalsAfter(argv, 'exec')[0]
  if (command === undefined) return undefined
  return {
    message: `unknown option '${name}' for exec: options after the command are read as authctl's unless they follow \`--\``,
    hint: `put \`--\` before the command: authctl exec [--provider P] [--scope S] -- ${command} ${name} …`,
  }
}

/** `authctl token --provider lucidworks`: the provider is an argument there. */
function providerFlag(name: string, words: readonly string[], argv: readonly string[]): Explained | undefined {
  const command = words[0]
  if (name !== '--provider' || command === undefined || !PROVIDER_POSITIONAL.has(command)) return undefined
  const value = argv[argv.indexOf('--provider') + 1]?.toLowerCase()
  const known = value === undefined ? undefined : findProvider(value)
  return {
    message: `${words.join(' ')} takes the provider as an argument, not --provider`,
    hint: `authctl ${words.join(' ')} ${known ? value : 'PROVIDER'} …  (providers: ${allProviders()
      .map((p) => p.id)
      .join(', ')})`,
  }
}

/** The subcommand words typed (`token`, `keys create`), skipping global options. */
function commandWords(argv: readonly string[]): string[] {
  const first = positionalsAfter(argv, undefined)[0]
  if (first === undefined) return []
  const second = first === 'keys' ? positionalsAfter(argv, 'keys')[0] : undefined
  return second && /^[a-z]+$/.test(second) ? [first, second] : [first]
}

/** Options whose value is the next word (global, exec, token, keys), so it is not a command word. */
const TAKES_VALUE = new Set([
  '--profile',
  '--provider',
  '--scope',
  '--min-ttl',
  '--format',
  '--project',
  '--org',
  '--description',
  '--index',
  '--expires',
  '--access',
  '--name',
])

/** Non-option words after `after` (or from the start), skipping option values. */
function positionalsAfter(argv: readonly string[], after: string | undefined): string[] {
  const start = after === undefined ? 0 : argv.indexOf(after) + 1
  if (after !== undefined && start === 0) return []
  const out: string[] = []
  for (let i = start; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--') break
    if (TAKES_VALUE.has(a)) i++
    else if (!a.startsWith('-')) out.push(a)
  }
  return out
}

/** commander's "(Did you mean --x?)" suffix, if it made one. */
function suggestion(message: string): string {
  const m = /\(Did you mean [^)]*\)/.exec(message)
  return m ? ` ${m[0]}` : ''
}

function oneLine(s: string): string {
  return s.trim().replace(/\s*\n\s*/g, ' ')
}
