import { run } from '../../src/cli/main.js'
import { createMemoryStore } from '../../src/store/memory.js'
import { TEST_KNOBS } from './cli.js'
import { createTestIO } from './io.js'
import { scriptedPrompter } from './prompter.js'
import { tempDir } from './tmp.js'

export interface InProcessResult {
  code: number
  stdout: string
  stderr: string
}

export interface CliOpts {
  env?: Record<string, string>
  stdin?: string
  tty?: boolean
  answers?: Record<string, string | boolean>
  /** stdout is a terminal this many columns wide. */
  columns?: number
  /** A fixed clock (epoch ms) for this invocation. */
  now?: number
}

/**
 * An in-process CLI with its own config dir and memory store; `reset()` starts both afresh.
 * `baseEnv()` supplies the endpoint overrides (evaluated per call, after emulators start).
 */
export function inProcessCli(baseEnv: () => Record<string, string>) {
  const state = { dir: '', store: createMemoryStore() }
  const reset = () => {
    state.dir = tempDir('cli-')
    state.store = createMemoryStore()
  }
  reset()
  const cli = async (argv: string[], opts: CliOpts = {}): Promise<InProcessResult> => {
    const io = createTestIO({ stdin: opts.stdin, stdinTTY: opts.tty, stdoutTTY: opts.columns !== undefined, stdoutColumns: opts.columns })
    const env = { AUTHCTL_CONFIG_DIR: state.dir, AUTHCTL_STORE: 'memory', ...(TEST_KNOBS as Record<string, string>), ...baseEnv(), ...opts.env }
    const code = await run(argv, env, io, {
      stores: { memory: state.store },
      ...(opts.answers ? { prompter: scriptedPrompter(opts.answers) } : {}),
      ...(opts.now !== undefined ? { clock: { now: () => opts.now as number } } : {}),
    })
    return { code, stdout: io.stdout(), stderr: io.stderr() }
  }
  return { cli, reset, state }
}
