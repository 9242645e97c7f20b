import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { startInstabase } from '../emulators/instabase.js'
import { startLucidworks } from '../emulators/lucidworks.js'
import { runCli } from '../helpers/cli.js'
import { snapshotDir as snapshot } from '../helpers/fs.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'

const lw = fileEmulator(() => startLucidworks({ clients: { 'lw-client': 'lw-secret-0123456789', 'unicode-client': 'sécret-ünïcode-✓-0123' } }))
const ib = fileEmulator(() => startInstabase())

const freshEnv = () =>
  cliEnv(
    { prefix: 'bad-', passphrase: 'bad input', nested: true },
    {
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      AUTHCTL_INSTABASE_API_URL: ib.apiUrl,
    },
  )

describe('bad input: documented exit code, one-line error, nothing written or lost', () => {
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    env = freshEnv()
    const r = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env, input: 'lw-secret-0123456789' })
    expect(r.code).toBe(0)
  })

  const cases: Array<[string, string[], string | undefined, NodeJS.ProcessEnv, number]> = [
    ['an unknown flag', ['token', 'lucidworks', '--frobnicate'], undefined, {}, 2],
    ['a flag missing its value', ['token', 'lucidworks', '--format'], undefined, {}, 2],
    ['an unknown command', ['tokne', 'lucidworks'], undefined, {}, 2],
    [
      'a non-loopback http:// URL',
      ['--profile', 'x', 'login', 'lucidworks', '--client-id', 'a', '--client-secret-stdin'],
      'secret-1234',
      { AUTHCTL_LUCIDWORKS_TOKEN_URL: 'http://identity.example.com/t' },
      2,
    ],
    ['an https URL that is not a URL', ['token', 'lucidworks', '--force-refresh'], undefined, { AUTHCTL_LUCIDWORKS_TOKEN_URL: 'https://exa mple.com' }, 2],
    ['an empty secret', ['--profile', 'x', 'login', 'lucidworks', '--client-id', 'a', '--client-secret-stdin'], '\n', {}, 2],
    ['a secret with an inner newline', ['--profile', 'x', 'login', 'lucidworks', '--client-id', 'a', '--client-secret-stdin'], 'abc\ndef\n', {}, 2],
    ['a 1 MB secret on stdin', ['--profile', 'x', 'login', 'lucidworks', '--client-id', 'a', '--client-secret-stdin'], 'x'.repeat(1024 * 1024), {}, 2],
    ['a non-ASCII token (header-bound)', ['--profile', 'x', 'login', 'instabase', '--token-stdin'], 'tökén-ünïcode-1234', {}, 2],
    ['a profile name with /', ['--profile', 'a/b', 'token', 'lucidworks'], undefined, {}, 2],
    ['a profile name with ..', ['--profile', '..', 'token', 'lucidworks'], undefined, {}, 2],
    ['a profile name with NUL-like escape', ['--profile', 'a\u0001b', 'token', 'lucidworks'], undefined, {}, 2],
    ['a bad --min-ttl', ['token', 'lucidworks', '--min-ttl', '1e9'], undefined, {}, 2],
    ...['http://127.0.0.1:6379/0', 'redis://127.0.0.1/zero', 'redis://exa mple'].map(
      (url): [string, string[], string | undefined, NodeJS.ProcessEnv, number] => [
        `AUTHCTL_CACHE=${url}`,
        ['token', 'lucidworks', '--force-refresh'],
        undefined,
        { AUTHCTL_CACHE: url, AUTHCTL_CACHE_KEY: 'k'.repeat(32) },
        2,
      ],
    ),
  ]
  it.each(cases)('%s', async (_name, argv, input, extra, code) => {
    const before = snapshot(env.AUTHCTL_CONFIG_DIR as string)
    const r = await runCli(argv, { env: { ...env, ...extra }, input })
    expect(r.code, r.stderr).toBe(code)
    expect(r.stderr).toMatch(/^authctl: [^\n]+\n(hint: [^\n]+\n)?$/)
    expect(snapshot(env.AUTHCTL_CONFIG_DIR as string)).toEqual(before)
    expect((await runCli(['token', 'lucidworks'], { env })).code).toBe(0) // nothing lost
  })

  it('a bad AUTHCTL_CACHE: the hint reads as written (URL redaction does not mangle it)', async () => {
    const r = await runCli(['token', 'lucidworks'], { env: { ...env, AUTHCTL_CACHE: 'http://127.0.0.1:6379/0', AUTHCTL_CACHE_KEY: 'k'.repeat(32) } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('hint: use a redis:// or rediss:// (TLS) URL: host, port, the database number as its path, the password as its user info')
    expect(r.stderr).not.toMatch(/\*\*\*|%E2/)
  })

  it('a non-ASCII client secret (sent base64-encoded) works', async () => {
    const e = freshEnv()
    const r = await runCli(['login', 'lucidworks', '--client-id', 'unicode-client', '--client-secret-stdin'], { env: e, input: 'sécret-ünïcode-✓-0123\n' })
    expect(r.code, r.stderr).toBe(0)
    expect((await runCli(['token', 'lucidworks', '--force-refresh'], { env: e })).code).toBe(0)
  })

  it('a corrupt secret file is exit 6 and left as it was', async () => {
    const e = freshEnv()
    await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env: e, input: 'lw-secret-0123456789' })
    const file = join(e.AUTHCTL_CONFIG_DIR as string, 'secrets.enc')
    writeFileSync(file, 'garbage')
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: e })
    expect(r.code).toBe(6)
    expect(r.stderr).toContain('corrupt')
    expect(readFileSync(file, 'utf8')).toBe('garbage')
  })
})
