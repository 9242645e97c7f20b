import type { Prompter } from '../../src/cli/prompter.js'

/** Answers keyed by a substring of the prompt message; an unexpected prompt throws (gh NoSuchPromptErr). */
export function scriptedPrompter(answers: Record<string, string | boolean>): Prompter & { asked: string[] } {
  const asked: string[] = []
  const answer = (message: string): string | boolean => {
    asked.push(message)
    const key = Object.keys(answers).find((k) => message.includes(k))
    if (key === undefined) throw new Error(`unexpected prompt: ${message}`)
    return answers[key] as string | boolean
  }
  return {
    asked,
    input: async (m) => String(answer(m)),
    password: async (m) => String(answer(m)),
    confirm: async (m) => Boolean(answer(m)),
    select: async (m) => String(answer(m)) as never,
  }
}
