import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startLucidworks } from '../emulators/lucidworks.js'
import { runCli } from '../helpers/cli.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'
import { tempDir } from '../helpers/tmp.js'

const lw = fileEmulator(() => startLucidworks())

const env = (extra: NodeJS.ProcessEnv = {}) =>
  cliEnv(
    { prefix: 'doc-', passphrase: 'doctor', nested: true },
    {
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: 'lw-secret-0123456789',
      ...extra,
    },
  )

const doctor = async (e: NodeJS.ProcessEnv) => {
  const r = await runCli(['doctor', '--json'], { env: e })
  return { ...r, doc: JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; fix?: string; exit_code?: number }> } }
}
const check = (doc: Awaited<ReturnType<typeof doctor>>['doc'], name: string) => doc.checks.find((c) => c.name === name)

describe('authctl doctor', () => {
  it('all checks pass: exit 0, endpoint reached, clock compared', async () => {
    const e = env()
    await runCli(['token', 'lucidworks'], { env: e })
    const r = await doctor(e)
    expect(r.doc.ok).toBe(true)
    expect(r.code).toBe(0)
    expect(check(r.doc, 'endpoint lucidworks')?.status).toBe('pass')
    expect(check(r.doc, 'clock')?.status).toBe('pass')
    const human = await runCli(['doctor'], { env: e })
    expect(human.stdout).toMatch(/^ok +config dir: /m)
  })

  it('unreachable endpoint → exit 5 with JSON still printed', async () => {
    const r = await doctor(env({ AUTHCTL_LUCIDWORKS_TOKEN_URL: 'http://127.0.0.1:9/token' }))
    expect(r.code).toBe(5)
    expect(r.doc.ok).toBe(false)
    expect(check(r.doc, 'endpoint lucidworks')).toMatchObject({ status: 'fail', exit_code: 5 })
  })

  it('a clock far from the provider Date header → fail', async () => {
    lw.faults.push({ path: '/v1/token', status: 405, headers: { date: new Date(Date.now() - 3600_000).toUTCString() }, body: '{}' })
    const r = await doctor(env())
    expect(check(r.doc, 'clock')).toMatchObject({ status: 'fail' })
    expect(r.code).toBe(5)
  })

  it('no Secret Service: exit 6 with the headless fix when the keychain is asked for; a warning when only a new login would need it', async () => {
    const noBus = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }
    const r = await doctor(env({ AUTHCTL_STORE: 'keychain', ...noBus }))
    expect(r.code).toBe(6)
    expect(check(r.doc, 'keychain')?.fix).toMatch(/dbus-run-session.*AUTHCTL_STORE=file/)
    // CI: the default store, environment credentials, nothing stored: doctor is a usable pre-flight check.
    const ci = await doctor(env({ AUTHCTL_STORE: 'auto', ...noBus }))
    expect(ci.code, ci.stdout).toBe(0)
    expect(check(ci.doc, 'keychain')).toMatchObject({ status: 'warn', detail: expect.stringContaining('only a new `login` needs it') })
  })

  it('a wrong passphrase for the file store → exit 6', async () => {
    const e = env()
    await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], {
      env: { ...e, LUCIDWORKS_CLIENT_ID: '', LUCIDWORKS_CLIENT_SECRET: '' },
      input: 'lw-secret-0123456789',
    })
    const r = await doctor({ ...e, AUTHCTL_PASSPHRASE: 'wrong' })
    expect(check(r.doc, 'file store')).toMatchObject({ status: 'fail', exit_code: 6 })
    expect(r.code).toBe(6)
  })

  it('group-readable files → exit 2 with a chmod fix; stale locks are reported', async () => {
    const e = env()
    await runCli(['token', 'lucidworks'], { env: e })
    const dir = e.AUTHCTL_CONFIG_DIR as string
    mkdirSync(join(dir, 'locks'), { recursive: true, mode: 0o700 })
    writeFileSync(join(dir, 'locks', 'x.lock'), JSON.stringify({ pid: 999999, host: hostname(), nonce: 'n' }), { mode: 0o600 })
    expect(check((await doctor(e)).doc, 'locks')?.status).toBe('warn')
    writeFileSync(join(dir, 'leaky.json'), '{}')
    chmodSync(join(dir, 'leaky.json'), 0o644)
    const r = await doctor(e)
    expect(check(r.doc, 'config dir')).toMatchObject({ status: 'fail', exit_code: 2, fix: `chmod -R go= ${dir}` })
    expect(r.code).toBe(2)
  })

  it('a symlink in the config dir (dangling, or to /) is not followed: the checks still print, no exit 1', async () => {
    const e = env()
    await runCli(['token', 'lucidworks'], { env: e })
    const dir = e.AUTHCTL_CONFIG_DIR as string
    symlinkSync('/nonexistent-authctl-doctor', join(dir, 'dangling'))
    symlinkSync('/', join(dir, 'root'))
    const r = await doctor(e)
    expect(r.code, r.stderr).toBe(0)
    expect(check(r.doc, 'config dir')?.status).toBe('pass')
    expect(r.stderr).toBe('')
    // A link to a file is judged by the file, which authctl would read through it.
    const outside = join(tempDir('doc-outside-'), 'leaky.json')
    writeFileSync(outside, '{}', { mode: 0o644 })
    symlinkSync(outside, join(dir, 'linked.json'))
    expect(check((await doctor(e)).doc, 'config dir')).toMatchObject({ status: 'fail', exit_code: 2 })
    // A path that cannot be read (for root, who reads everything, a link to itself) fails too, with the reason.
    rmSync(join(dir, 'linked.json'))
    symlinkSync('loop', join(dir, 'loop'))
    const loop = await doctor(e)
    expect(loop.code, loop.stderr).toBe(2)
    expect(check(loop.doc, 'config dir')).toMatchObject({ status: 'fail', exit_code: 2, detail: `cannot read ${join(dir, 'loop')} (ELOOP)` })
    expect(check(loop.doc, 'config dir')?.fix).toBe(`remove the link ${join(dir, 'loop')}`)
  })

  it('server text is data: a Redis error with escape sequences reaches neither the table nor the JSON raw', async () => {
    const hostile = '-ERR \u001b]0;PWNED-TITLE\u0007\u001b[2J\u001b[31mfake error\r\n'
    const redis = createServer((s) => s.on('data', () => s.end(hostile)).on('error', () => {}))
    await new Promise<void>((r) => redis.listen(0, '127.0.0.1', r))
    try {
      const port = (redis.address() as { port: number }).port
      const e = env({ AUTHCTL_CACHE: `redis://127.0.0.1:${port}`, AUTHCTL_CACHE_KEY: 'doctor-fleet-key-0123456789abcdefghij' })
      const human = await runCli(['doctor'], { env: e })
      expect(human.stdout).toMatch(/^warn +shared cache: .*fake error/m)
      expect(human.stdout + human.stderr).not.toMatch(/[\u0007\u001b]/)
      const r = await doctor(e)
      expect(check(r.doc, 'shared cache')).toMatchObject({ status: 'warn', detail: expect.stringContaining('fake error') })
      expect(JSON.stringify(r.doc)).not.toMatch(/\\u001b|\\u0007|PWNED-TITLE.*\[2J/)
    } finally {
      redis.close()
    }
  })
})
