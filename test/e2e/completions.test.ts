import { spawnSync } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { baseEnv, BIN, runCli } from '../helpers/cli.js'
import { hasTmux, startTmux } from '../helpers/tmux.js'
import { tempDir } from '../helpers/tmp.js'

const ROOT = resolve(__dirname, '..', '..')
const FILES = { bash: 'completions/authctl.bash', zsh: 'completions/_authctl', fish: 'completions/authctl.fish' } as const
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
const missing = ['bash', 'zsh', 'fish', 'tmux'].filter((c) => !has(c))
if (missing.length) {
  const msg = `\n*** SKIPPING shell completion tests for: ${missing.join(', ')} (apt-get install zsh fish tmux) ***\n`
  if (process.env.CI) throw new Error(msg)
  process.stderr.write(msg)
}

let env: NodeJS.ProcessEnv
beforeAll(async () => {
  // `authctl` on PATH, and a config with a second profile so profile names can be completed.
  const bin = tempDir('compl-bin-')
  writeFileSync(join(bin, 'authctl'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(bin, 'authctl'), 0o755)
  const config = tempDir('compl-cfg-')
  writeFileSync(
    join(config, 'config.json'),
    JSON.stringify({
      version: 1,
      profiles: {
        'lucidworks:staging': { provider: 'lucidworks', profile: 'staging', kind: 'client-credentials', store: 'file', data: {}, createdAt: '', updatedAt: '' },
      },
    }),
  )
  env = baseEnv({ PATH: `${bin}:${process.env.PATH}`, AUTHCTL_CONFIG_DIR: config, HOME: tempDir('compl-home-') })
})

describe('completion scripts', () => {
  it.each(Object.entries(FILES))('completions/%s is what `authctl completion` generates (regenerate with npm run completions)', async (shell, file) => {
    const r = await runCli(['completion', shell], { env })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(readFileSync(join(ROOT, file), 'utf8'))
  })

  it('an unknown shell is exit 2', async () => {
    expect((await runCli(['completion', 'tcsh'], { env })).code).toBe(2)
  })
})

describe.skipIf(!has('bash'))('bash', () => {
  const complete = (words: string[]) => {
    const script = `source ${join(ROOT, FILES.bash)}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _authctl; printf '%s\\n' "\${COMPREPLY[@]}"`
    return spawnSync('bash', ['--norc', '--noprofile', '-c', script], { env, encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
  }
  it.each([
    [['authctl', 'to'], ['token']],
    [
      ['authctl', 'token', 'lu'],
      ['lucidworks', 'lupasearch', 'lupa', 'lucid'],
    ],
    [
      ['authctl', 'token', 'haut', '--f'],
      ['--force-refresh', '--format'],
    ],
    [['authctl', 'token', 'lucidworks', '--scope', 'machinelearning.m'], ['machinelearning.model']],
    [['authctl', '--profile', 'st'], ['staging']],
    [
      ['authctl', 'keys', 'r'],
      ['revoke', 'rotate'],
    ],
    [['authctl', 'completion', 'f'], ['fish']],
    [
      ['authctl', 'e'],
      ['env', 'exec'],
    ],
    [
      ['authctl', 'env', '--format', ''],
      ['sh', 'dotenv', 'powershell', 'json'],
    ],
    [
      ['authctl', 'env', '--p'],
      ['--provider', '--profile'],
    ],
    [
      ['authctl', 'exec', '--no'],
      ['--no-mask', '--no-color'],
    ],
    [
      ['authctl', 'status', 'hau'],
      ['haut', 'hautai'],
    ],
    // `--flag=value`: bash hands over `--flag`, `=`, and the value typed so far.
    [['authctl', '--profile', '=', 'st'], ['staging']],
    [
      ['authctl', '--profile', '='],
      ['default', 'staging'],
    ],
    [['authctl', 'token', '--format', '=', 'js'], ['json']],
    [['authctl', '--profile', '=', 'staging', 'to'], ['token']],
  ])('%j → %j', (words, expected) => {
    expect(complete(words).sort()).toEqual([...expected].sort())
  })
})

describe.skipIf(!has('fish'))('fish', () => {
  const complete = (line: string) =>
    spawnSync('fish', ['--no-config', '-c', `source ${join(ROOT, FILES.fish)}; complete -C '${line}'`], { env, encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0])
  it.each([
    ['authctl who', ['whoami']],
    ['authctl token lucidworks --format ', ['dotenv', 'env', 'header', 'json', 'powershell', 'raw']],
    ['authctl login hau', ['haut', 'hautai']],
    ['authctl --profile sta', ['staging']],
    ['authctl --profile=sta', ['--profile=staging']],
    ['authctl token --format=js', ['--format=json']],
  ])('%s → %j', (line, expected) => {
    expect(complete(line).sort()).toEqual(expected)
  })
})

describe.skipIf(!has('zsh') || !hasTmux())('zsh (a real Tab in a terminal)', () => {
  it('completes subcommands, providers and profile names', async () => {
    const t = startTmux(`authctl-zsh-${process.pid}`, 'zsh -f', { ...env, TERM: 'xterm-256color', PS1: '%% ' })
    try {
      t.send(`autoload -U compinit && compinit -u && source ${join(ROOT, FILES.zsh)} && echo READY`, 'Enter')
      await t.waitFor(/^READY$/m)
      t.send('authctl whoa', 'Tab')
      await t.waitFor(/authctl whoami *$/m)
      t.send('hauta', 'Tab')
      await t.waitFor(/authctl whoami hautai *$/m)
      t.send('--profile stag', 'Tab')
      await t.waitFor(/--profile staging *$/m)
      t.send(' --profile=stag', 'Tab')
      await t.waitFor(/--profile=staging *$/m)
    } finally {
      t.kill()
    }
  })
})
