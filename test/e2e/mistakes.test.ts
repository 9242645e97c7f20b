import { describe, expect, it } from 'vitest'
import { startLucidworks } from '../emulators/lucidworks.js'
import { startLupaSearch } from '../emulators/lupasearch.js'
import { runCli, seedFileStore } from '../helpers/cli.js'
import { snapshotDir } from '../helpers/fs.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'

/**
 * The mistakes a new user makes, each answered with what to do instead: mistake → exit code →
 * the hint's key words. Every message is at most two lines and never echoes a secret.
 */
const lw = fileEmulator(() => startLucidworks())
const lupa = fileEmulator(() => startLupaSearch())

const SECRET = 's3cr3t-value-9f8e'

const env = () =>
  cliEnv(
    { prefix: 'mistakes-', passphrase: 'mistakes', nested: true },
    {
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      AUTHCTL_LUPASEARCH_API_URL: `${lupa.url}/v1`,
    },
  )

type Case = [mistake: string, argv: string[], extraEnv: NodeJS.ProcessEnv, code: number, keyWords: RegExp[]]

const cases: Case[] = [
  [
    '--client-secret VALUE',
    ['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret', SECRET],
    {},
    2,
    [/--client-secret-stdin/, /LUCIDWORKS_CLIENT_SECRET/],
  ],
  [
    '--client-secret=VALUE',
    ['login', 'lucidworks', '--client-id', 'lw-client', `--client-secret=${SECRET}`],
    {},
    2,
    [/--client-secret-stdin/, /LUCIDWORKS_CLIENT_SECRET/],
  ],
  ['--client-secret VALUE (Lucid)', ['login', 'lucid', '--client-id', 'c', '--client-secret', SECRET], {}, 2, [/--client-secret-stdin/, /LUCID_CLIENT_SECRET/]],
  ['--password VALUE (LupaSearch)', ['login', 'lupa', '--email', 'a@b.c', '--password', SECRET], {}, 2, [/--password-stdin/, /LUPA_PASSWORD/]],
  ['--password VALUE (Haut.ai)', ['login', 'haut', '--email', 'a@b.c', '--password', SECRET], {}, 2, [/--password-stdin/, /HAUT_PASSWORD/]],
  ['--api-key VALUE (LupaSearch)', ['login', 'lupasearch', '--api-key', SECRET], {}, 2, [/--api-key-stdin/, /LUPA_API_KEY/]],
  ['--api-key VALUE (no provider)', ['login', '--api-key', SECRET], {}, 2, [/--api-key-stdin/, /LUPA_API_KEY \/ LUCID_API_KEY/]],
  ['--token VALUE (AI Hub)', ['login', 'aihub', '--token', SECRET], {}, 2, [/--token-stdin/, /INSTABASE_API_TOKEN/]],
  ['--token=VALUE (Haut.ai)', ['login', 'haut', `--token=${SECRET}`], {}, 2, [/--token-stdin/, /HAUT_TOKEN/]],
  ['exec without --', ['exec', 'curl', '-s', 'https://example.com/'], {}, 2, [/-s/, /put `--` before the command/, /-- curl -s/]],
  ['exec --provider P without --', ['exec', '--provider', 'lucidworks', 'sh', '-c', 'true'], {}, 2, [/-c/, /-- sh -c/]],
  ['token --provider P', ['token', '--provider', 'lucidworks'], {}, 2, [/provider as an argument/, /authctl token lucidworks/]],
  ['whoami --provider P', ['whoami', '--provider', 'lupa'], {}, 2, [/provider as an argument/, /authctl whoami lupa/]],
  [
    '--scope predict',
    ['token', 'lucidworks', '--scope', 'predict'],
    { LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: 'lw-secret-0123456789' },
    2,
    [/scope refused/, /machinelearning\.predict, machinelearning\.model/, /did you mean --scope machinelearning\.predict/],
  ],
  [
    'LUCIDWORKS_CLIENT_ID without the secret',
    ['token', 'lucidworks'],
    { LUCIDWORKS_CLIENT_ID: 'lw-client' },
    4,
    [/LUCIDWORKS_CLIENT_ID is set but LUCIDWORKS_CLIENT_SECRET is not/, /set LUCIDWORKS_CLIENT_SECRET too/],
  ],
  [
    'LUCIDWORKS_CLIENT_SECRET without the id',
    ['token', 'lucidworks'],
    { LUCIDWORKS_CLIENT_SECRET: SECRET },
    4,
    [/LUCIDWORKS_CLIENT_SECRET is set but LUCIDWORKS_CLIENT_ID is not/],
  ],
  ['LUPA_EMAIL without the password', ['whoami', 'lupa'], { LUPA_EMAIL: 'a@b.c' }, 4, [/LUPA_EMAIL is set but LUPA_PASSWORD is not/]],
  ['HAUT_PASSWORD without the email', ['token', 'haut'], { HAUT_PASSWORD: SECRET }, 4, [/HAUT_PASSWORD is set but HAUT_EMAIL is not/]],
  ['exec with a half-set credential', ['exec', '--', 'true'], { LUCIDWORKS_CLIENT_ID: 'lw-client' }, 4, [/LUCIDWORKS_CLIENT_SECRET is not/]],
  [
    'an unknown option keeps the value out',
    ['token', 'lucidworks', `--frobnicate=${SECRET}`],
    {},
    2,
    [/unknown option '--frobnicate'/, /authctl token --help/],
  ],
]

describe('helpful mistakes: mistake → exit code → what to do instead', () => {
  it.each(cases)('%s', async (_mistake, argv, extra, code, keyWords) => {
    const e = { ...env(), ...extra }
    const before = lw.tokenRequests()
    const r = await runCli(argv, { env: e })
    expect(r.code, r.stderr).toBe(code)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^authctl: [^\n]+\nhint: [^\n]+\n$/)
    for (const k of keyWords) expect(r.stderr).toMatch(k)
    expect(r.stderr).not.toContain(SECRET)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    // Only the scope mistake reaches the provider (its server is what refuses the scope).
    expect(lw.tokenRequests() - before).toBe(argv.includes('predict') ? 1 : 0)
  })

  it('a secret given as a flag value writes nothing', async () => {
    const e = env()
    seedFileStore(e) // what runCli would add before the CLI starts
    const before = snapshotDir(e.AUTHCTL_CONFIG_DIR as string)
    const r = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret', SECRET], { env: e })
    expect(r.code).toBe(2)
    expect(snapshotDir(e.AUTHCTL_CONFIG_DIR as string)).toEqual(before)
  })
})
