import { spawnSync } from 'node:child_process'
import { PassThrough } from 'node:stream'
import dotenv from 'dotenv'
import { describe, expect, it } from 'vitest'
import { addMaskLines, maskWanted } from '../../../src/cli/ci.js'
import { formatVars, powershellQuote } from '../../../src/cli/env-format.js'
import type { CliContext } from '../../../src/cli/context.js'
import { SecretMasker, secretForms } from '../../../src/exec/mask.js'
import { readDockerEnvFile, readGithubEnvFile, readPowershellEnv } from '../../helpers/env-readers.js'

/** Values a token, key or id can hold that every env-file reader agrees on. */
const SAFE = {
  JWT: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl-_',
  EQUALS: 'a=b==',
  PERCENT: 'p%20q%0Ar',
  QUOTES_INSIDE: `x"y'z\`w`,
  DOLLAR: '$HOME$' + '{PATH}$(id)`id`',
  BACKSLASH: 'a\\nb\\\\c',
  SPACE_INSIDE: 'two words',
  UNICODE: 'ünï©ødé',
  PUNCT: "!&*()-+[]{}|;:,.<>/?~^@'",
}

describe('--format dotenv', () => {
  it('writes NAME=value lines that docker --env-file (both variants), $GITHUB_ENV and the dotenv package read back exactly', () => {
    const text = formatVars(SAFE, 'dotenv')
    expect(text.split('\n').filter(Boolean)).toHaveLength(Object.keys(SAFE).length)
    expect(readDockerEnvFile(Buffer.from(text), { trimQuotes: false })).toEqual(SAFE)
    expect(readDockerEnvFile(Buffer.from(text), { trimQuotes: true })).toEqual(SAFE)
    expect(readGithubEnvFile(text)).toEqual(SAFE)
    expect(dotenv.parse(text)).toEqual(SAFE)
  })

  it.each([
    ['a line break', 'line1\nline2'],
    ['a line break', 'cr\rhere'],
    ['a control character', 'nul\0byte'],
    ['a control character', 'tab\there'],
    ['leading or trailing space', ' sp4ce'],
    ['leading or trailing space', 'sp4ce '],
    ['a #', 'tok#en'],
    ['a leading quote', "'quoted'"],
    ['a leading quote', '"quoted"'],
  ])('refuses a value with %s (exit 2, the value not echoed), instead of writing it broken', (why, value) => {
    let err: unknown
    try {
      formatVars({ OK: 'fine', BAD_VALUE: value }, 'dotenv')
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ exitCode: 2 })
    expect((err as Error).message).toContain('BAD_VALUE')
    expect((err as Error).message).toContain(why)
    expect((err as Error).message).not.toContain(value)
  })

  it('the refused values really are read differently by the readers (so refusing is needed)', () => {
    const differs = (name: string, value: string) => {
      const line = `${name}=${value}\n`
      const readers = [() => readDockerEnvFile(Buffer.from(line), { trimQuotes: true }), () => dotenv.parse(line), () => readGithubEnvFile(line)]
      return readers.some((read) => {
        try {
          return read()[name] !== value
        } catch {
          return true // refused by the reader
        }
      })
    }
    for (const v of ['tok#en', "'quoted'", ' lead', 'trail ', 'line1\nline2']) expect(differs('V', v), v).toBe(true)
  })
})

describe('--format powershell', () => {
  it("single-quotes each value and doubles ' (and the typographic single quotes PowerShell also accepts)", () => {
    expect(powershellQuote("it's")).toBe("'it''s'")
    expect(powershellQuote('‘x’')).toBe("'‘‘x’’'")
    expect(formatVars({ A: 'v' }, 'powershell')).toBe("$env:A = 'v'\n")
  })

  it('round-trips every value through a PowerShell verbatim-string reader, including quotes, $ and newlines', () => {
    const vars = { ...SAFE, APOS: "a'b''c'", TYPO: 'x‘y’z‚w‛', MULTI: 'line1\nline2', EMPTY: '', TRAILQ: "end'" }
    expect(readPowershellEnv(formatVars(vars, 'powershell'))).toEqual(vars)
  })
})

describe('--format sh and json', () => {
  it('sh: export lines a real shell evaluates back to the same values', () => {
    const vars = { ...SAFE, APOS: "a'b", MULTI: 'l1\nl2' }
    const script = `${formatVars(vars, 'sh')}\nnode -e 'const o={};for(const k of process.argv.slice(1))o[k]=process.env[k];process.stdout.write(JSON.stringify(o))' ${Object.keys(vars).join(' ')}`
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' })
    expect(JSON.parse(r.stdout)).toEqual(vars)
  })

  it('json: one object', () => {
    expect(JSON.parse(formatVars(SAFE, 'json'))).toEqual(SAFE)
  })
})

describe('::add-mask:: lines', () => {
  it('one per distinct secret, each starting its line, with %, CR and LF escaped as the runner unescapes them', () => {
    expect(addMaskLines(['tok1', 'tok1', 'a%b\r\nc', ''])).toBe('::add-mask::tok1\n::add-mask::a%25b%0D%0Ac\n')
  })
})

describe('exec masking default', () => {
  const ctx = (env: Record<string, string>, stdoutIsTTY: boolean) => ({ env, io: { stdoutIsTTY } }) as unknown as CliContext
  it.each([
    [{}, false, undefined, false],
    [{ CI: 'true' }, false, undefined, true],
    [{ CI: 'true' }, true, undefined, false],
    [{ CI: 'true' }, false, false, false],
    [{}, true, true, true],
    [{ AUTHCTL_MASK: '1' }, true, undefined, true],
    [{ CI: '1', AUTHCTL_MASK: '0' }, false, undefined, false],
    [{ AUTHCTL_MASK: 'true' }, true, undefined, true],
    [{ AUTHCTL_MASK: 'Yes' }, true, undefined, true],
    [{ CI: '1', AUTHCTL_MASK: 'off' }, false, undefined, false],
    [{ CI: '1', AUTHCTL_MASK: 'FALSE' }, false, undefined, false],
  ])('env %j, stdout TTY %s, flag %s → %s', (env, tty, flag, want) => {
    expect(maskWanted(ctx(env, tty), flag)).toBe(want)
  })
  it('any other AUTHCTL_MASK is exit 2 naming it (it was ignored: AUTHCTL_MASK=true did not mask)', () => {
    expect(() => maskWanted(ctx({ AUTHCTL_MASK: 'always' }, false), undefined)).toThrow(/AUTHCTL_MASK must be 1 or 0/)
    expect(maskWanted(ctx({ AUTHCTL_MASK: 'always' }, false), false)).toBe(false) // a flag still wins
  })
})

describe('SecretMasker and URL-encoded secrets', () => {
  const secret = 'ab+c/d=e!f~g(h)*i'
  it('knows the percent-encoded forms (encodeURIComponent, form encoding, lower-case hex)', () => {
    const forms = secretForms(secret)
    expect(forms).toContain(encodeURIComponent(secret))
    expect(forms).toContain(new URLSearchParams({ s: secret }).toString().slice(2))
    expect(forms).toContain(encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()))
    expect(secretForms('plain-token')).toEqual(['plain-token'])
  })

  it('masks the secret in a URL query and a form body, also across writes', async () => {
    const text = `GET /x?token=${encodeURIComponent(secret)}&y=1\nbody: ${new URLSearchParams({ t: secret })}\nraw ${secret}\nlower ${encodeURIComponent(secret).toLowerCase()}\n`
    const m = new SecretMasker([secret])
    const sink = new PassThrough()
    const out: Buffer[] = []
    sink.on('data', (d: Buffer) => out.push(d))
    m.pipe(sink)
    for (let i = 0; i < text.length; i += 5) m.write(Buffer.from(text.slice(i, i + 5)))
    m.end()
    await new Promise((r) => sink.on('end', r))
    expect(Buffer.concat(out).toString()).toBe('GET /x?token=***&y=1\nbody: t=***\nraw ***\nlower ***\n')
  })
})
