import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { startLucidworks } from '../emulators/lucidworks.js'
import { startLupaSearch } from '../emulators/lupasearch.js'
import { ConfigStore } from '../../src/kernel/config.js'
import { createFileStore } from '../../src/store/file.js'
import { accountFor } from '../../src/store/types.js'
import { BIN, runCli } from '../helpers/cli.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'

const LW = 'lw-secret-0123456789'
const PASSPHRASE = 'soak'
const lw = fileEmulator(() => startLucidworks())
const lupa = fileEmulator(() => startLupaSearch())

const freshEnv = () =>
  cliEnv(
    { prefix: 'soak-', passphrase: PASSPHRASE },
    {
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
    },
  )

const lwLogin = (env: NodeJS.ProcessEnv, profile: string, scopes = ['machinelearning.predict']) =>
  runCli(['--profile', profile, 'login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin', ...scopes.flatMap((s) => ['--scope', s])], {
    env,
    input: LW,
  })

describe('crash safety', () => {
  it('kill -9 at random points of logins never corrupts the config or the secret file, nor loses earlier logins', async () => {
    const env = freshEnv()
    const dir = env.AUTHCTL_CONFIG_DIR as string
    expect((await lwLogin(env, 'base')).code).toBe(0)
    const done = new Set(['base'])
    for (let i = 0; i < 16; i++) {
      const profile = `p${i}`
      const child = spawn(process.execPath, [BIN, '--profile', profile, 'login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], {
        env,
        stdio: ['pipe', 'ignore', 'ignore'],
      })
      child.stdin.end(LW)
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
      await new Promise((r) => setTimeout(r, 40 + Math.random() * 200))
      child.kill('SIGKILL')
      if ((await exited) === 0) done.add(profile)
      // Read from disk after each kill (no CLI start per kill), with the CLI's own config and store
      // code: config.json parses and has every finished login; secrets.enc opens and still holds
      // the base login's secret.
      const config = new ConfigStore(dir)
      for (const p of done) expect(config.get({ provider: 'lucidworks', profile: p }), `${p} lost after kill ${i}`).toBeDefined()
      const store = createFileStore({ dir, passphrase: async () => PASSPHRASE })
      expect(await store.get(accountFor('lucidworks', 'base')), `base secret after kill ${i}`).toContain(LW)
    }
    // The CLI's own view at the end: the base login works, and a last complete login sweeps the
    // temp files the killed writers left behind.
    const tok = await runCli(['--profile', 'base', 'token', 'lucidworks', '--force-refresh'], { env })
    expect(tok.code, tok.stderr).toBe(0)
    const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as { profiles: Array<{ profile: string }> }
    const listed = new Set(status.profiles.map((p) => p.profile))
    for (const p of done) expect(listed.has(p), `${p} lost`).toBe(true)
    expect((await lwLogin(env, 'final')).code).toBe(0)
    expect(readdirSync(dir, { recursive: true }).filter((n) => String(n).endsWith('.tmp') && !String(n).startsWith('cache'))).toEqual([])
  }, 240_000)
})

describe('soak: 50 processes at once on one config dir', () => {
  it('mixing token, exec, status, login and logout: no corrupt file, no lost profile, one renewal per expiry per scope', async () => {
    const env = freshEnv()
    await issuingStaleTokens(lw, async () => {
      // cached tokens are stale for everyone by the time the jobs start
      expect((await lwLogin(env, 'default', ['machinelearning.predict', 'machinelearning.model'])).code).toBe(0)
      for (let i = 0; i < 5; i++) expect((await lwLogin(env, `old${i}`)).code).toBe(0)
    })
    const before = lw.tokenRequests()
    const jobs: Array<Promise<{ kind: string; code: number | null; stdout: string; stderr: string }>> = []
    const job = (kind: string, argv: string[], input?: string) => jobs.push(runCli(argv, { env, input, timeoutMs: 60_000 }).then((r) => ({ kind, ...r })))
    for (let i = 0; i < 15; i++) job('predict', ['token', 'lucidworks', '--scope', 'machinelearning.predict'])
    for (let i = 0; i < 10; i++) job('model', ['token', 'lucidworks', '--scope', 'machinelearning.model'])
    for (let i = 0; i < 8; i++)
      job('exec', [
        'exec',
        '--provider',
        'lucidworks',
        '--',
        'sh',
        '-c',
        'printf "%s %s" "$LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT" "$LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL"',
      ])
    for (let i = 0; i < 7; i++) job('status', ['status', '--json'])
    for (let i = 0; i < 5; i++)
      job('login', ['--profile', `new${i}`, 'login', 'lupasearch', '--email', 'dev@example.com', '--password-stdin'], 'lupa-password-123')
    for (let i = 0; i < 5; i++) job('logout', ['--profile', `old${i}`, 'logout', 'lucidworks'])
    const results = await Promise.all(jobs)
    expect(results.length).toBe(50)
    for (const r of results) expect(r.code, `${r.kind}: ${r.stderr}`).toBe(0)
    expect(lw.tokenRequests() - before).toBe(2) // one per scope
    const predict = new Set(results.filter((r) => r.kind === 'predict').map((r) => r.stdout.trim()))
    const model = new Set(results.filter((r) => r.kind === 'model').map((r) => r.stdout.trim()))
    expect(predict.size).toBe(1)
    expect(model.size).toBe(1)
    for (const r of results.filter((x) => x.kind === 'exec')) expect(r.stdout).toBe(`${[...predict][0]} ${[...model][0]}`)
    expect(lw.isValid([...predict][0] as string)).toBe(true)
    expect(lw.isValid([...model][0] as string)).toBe(true)
    const profiles = (JSON.parse((await runCli(['status', '--json'], { env })).stdout).profiles as Array<{ provider: string; profile: string }>)
      .map((p) => `${p.provider}:${p.profile}`)
      .sort()
    expect(profiles).toEqual(['lucidworks:default', ...[0, 1, 2, 3, 4].map((i) => `lupasearch:new${i}`)].sort())
    for (let i = 0; i < 5; i++) expect((await runCli(['--profile', `new${i}`, 'token', 'lupa'], { env })).code).toBe(0)
  }, 240_000)
})
