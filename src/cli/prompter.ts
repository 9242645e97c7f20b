import type { Prompter } from '../kernel/types.js'
import { CancelledError, NonInteractiveError } from '../kernel/errors.js'

export type { Prompter } from '../kernel/types.js'

/**
 * @inquirer/prompts, loaded only when a question is actually asked (it costs ~100 ms to load).
 * Prompts render on stderr so that stdout stays data; Ctrl-C becomes CancelledError (exit 130).
 */
export function createInquirerPrompter(opts: { interactive: boolean; color: () => boolean }): Prompter {
  async function ask<T>(fn: (p: typeof import('@inquirer/prompts'), ctx: { output: NodeJS.WritableStream }) => Promise<T>): Promise<T> {
    if (!opts.interactive) throw new NonInteractiveError('a prompt is needed but stdin is not a terminal (or CI is set)')
    // The prompt library decides on colour when it loads, from NO_COLOR: --no-color says the same.
    if (!opts.color()) process.env.NO_COLOR ??= '1'
    const prompts = await import('@inquirer/prompts')
    try {
      return await fn(prompts, { output: process.stderr })
    } catch (err) {
      if ((err as Error)?.name === 'ExitPromptError' || (err as Error)?.name === 'AbortPromptError') {
        throw new CancelledError('cancelled')
      }
      throw err
    }
  }
  return {
    input: (message, o) => ask((p, c) => p.input({ message, default: o?.default, required: true }, c)),
    password: (message) => ask((p, c) => p.password({ message, mask: '*' }, c)),
    confirm: (message, o) => ask((p, c) => p.confirm({ message, default: o?.default ?? false }, c)),
    select: (message, choices) => ask((p, c) => p.select({ message, choices: choices.map((x) => ({ ...x })) }, c)),
  }
}
