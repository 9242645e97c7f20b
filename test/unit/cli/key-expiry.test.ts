import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startHaut, type HautEmulator } from '../../emulators/haut.js'
import { startLupaSearch, type LupaEmulator } from '../../emulators/lupasearch.js'
import { inProcessCli } from '../../helpers/run.js'
import { tempDir } from '../../helpers/tmp.js'

// Expiry of stored keys (CONTRACT 0.2 "keys: lifecycle and expiry"). The clock is faked per
// invocation (`now`); the emulators judge validity by the real clock.
const PW = 'haut-password-123'
const LUPA_PW = 'lupa-password-123'
const DAY = 86_400_000
let haut: HautEmulator
let lupa: LupaEmulator
// doctor probes every configured provider's endpoint: Lucid and AI Hub point at a loopback one.
const { cli, reset, state } = inProcessCli(() => ({
  AUTHCTL_HAUT_API_URL: haut.apiUrl,
  AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
  AUTHCTL_LUCID_API_URL: haut.url,
  AUTHCTL_INSTABASE_API_URL: haut.url,
}))
beforeAll(async () => {
  haut = await startHaut()
  lupa = await startLupaSearch()
})
afterAll(async () => {
  await haut.close()
  await lupa.close()
})
beforeEach(() => {
  reset()
  haut.privateTokens.clear()
})

const hautLogin = (extra: string[] = []) => cli(['login', 'haut', '--email', 'lab@example.com', '--password-stdin', ...extra], { stdin: PW })
const iso = (ms: number) => new Date(ms).toISOString()

describe('a dead key is never handed out', () => {
  it('haut: a saved private token past its expiry is replaced by a login token (password stored), in token and exec', async () => {
    expect((await hautLogin()).code).toBe(0)
    const created = await cli(['keys', 'create', 'haut', '--name', 'ci', '--save'])
    expect(created.code, created.stderr).toBe(0)
    const secret = created.stdout.trim()
    const later = Date.now() + 91 * DAY
    const logins = haut.loginRequests()
    const t = await cli(['token', 'haut', '--format', 'json'], { now: later })
    expect(t.code, t.stderr).toBe(0)
    const doc = JSON.parse(t.stdout)
    expect(doc.access_token).not.toBe(secret)
    expect(haut.isValid(doc.access_token)).toBe(true) // a fresh login token
    expect(haut.loginRequests() - logins).toBe(1)
    const id = [...haut.privateTokens.keys()][0]
    expect(t.stderr).toMatch(new RegExp(`private token ${id} stored in profile default expired on \\d{4}-`))
    expect(t.stderr).toContain(`authctl keys rotate haut ${id}`)
    const env = await cli(['token', 'haut', '--format', 'env'], { now: later })
    expect(env.code).toBe(0)
    expect(env.stdout).not.toContain(secret)
    const out = join(tempDir('exp-'), 'tok')
    const x = await cli(['exec', '--', process.execPath, '-e', 'require("fs").writeFileSync(process.argv[1], process.env.HAUT_ACCESS_TOKEN)', out], {
      now: later,
    })
    expect(x.code, x.stderr).toBe(0)
    const injected = readFileSync(out, 'utf8')
    expect(injected).not.toBe(secret)
    expect(haut.isValid(injected)).toBe(true)
    // Before expiry the saved key is served as before, with its expiry.
    const before = JSON.parse((await cli(['token', 'haut', '--format', 'json'])).stdout)
    expect(before.access_token).toBe(secret)
    expect(Date.parse(before.expires_at)).toBeGreaterThan(Date.now() + 89 * DAY)
  })

  it('haut without a stored password: exit 4 saying the key expired and how to replace it; --api-key too', async () => {
    await hautLogin(['--no-store-password'])
    await cli(['keys', 'create', 'haut', '--name', 'ci', '--expires', '10d', '--save'])
    const id = [...haut.privateTokens.keys()][0]
    const later = Date.now() + 11 * DAY
    for (const argv of [
      ['token', 'haut'],
      ['token', 'haut', '--api-key'],
      ['exec', '--', 'true'],
    ]) {
      const r = await cli(argv, { now: later })
      expect(r.code, argv.join(' ')).toBe(4)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(new RegExp(`private token ${id} stored in profile default expired on`))
      expect(r.stderr).toContain(`run \`authctl login haut\`, then run \`authctl keys rotate haut ${id}\``)
    }
    const doctor = JSON.parse((await cli(['doctor', '--json'], { now: later })).stdout)
    expect(doctor.checks.find((c: { name: string }) => c.name === 'key haut/default')).toMatchObject({ status: 'fail', exit_code: 4 })
  })

  it('login lucid --api-key-stdin / login instabase --token-stdin --expires DATE: served until then, exit 4 after', async () => {
    const now = Date.now()
    const exp = iso(now + 10 * DAY)
    expect((await cli(['login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', exp], { stdin: 'lucid-key-0123456789' })).code).toBe(0)
    expect((await cli(['login', 'instabase', '--token-stdin', '--no-verify', '--expires', exp], { stdin: 'ib-token-0123456789' })).code).toBe(0)
    const ok = JSON.parse((await cli(['token', 'lucid', '--format', 'json'])).stdout)
    expect(ok).toMatchObject({ access_token: 'lucid-key-0123456789', expires_at: exp })
    for (const [p, hint] of [
      ['lucid', 'developer portal'],
      ['instabase', 'AI Hub'],
    ] as const) {
      const r = await cli(['token', p], { now: now + 11 * DAY })
      expect(r.code).toBe(4)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain('expired on')
      expect(r.stderr).toContain(hint)
      expect(r.stderr).toContain(`authctl login ${p}`)
    }
    const x = await cli(['exec', '--provider', 'instabase', '--', 'true'], { now: now + 11 * DAY })
    expect(x.code).toBe(4)
  })

  it('--expires on login: a past date or a login that stores no key is exit 2; never is accepted', async () => {
    expect((await cli(['login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', '2001-01-01'], { stdin: 'k-0123456789' })).code).toBe(2)
    expect((await cli(['login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', 'soon'], { stdin: 'k-0123456789' })).code).toBe(2)
    expect((await hautLogin(['--expires', '2099-01-01'])).code).toBe(2)
    expect((await cli(['login', 'instabase', '--token-stdin', '--no-verify', '--expires', 'never'], { stdin: 'ib-0123456789' })).code).toBe(0)
    expect(JSON.parse((await cli(['token', 'instabase', '--format', 'json'])).stdout).expires_at).toBeNull()
  })

  it('lupa: an expired saved API key is not handed out (--api-key, env/exec: exit 4); the JWT still is', async () => {
    await cli(['login', 'lupa', '--email', 'dev@example.com', '--password-stdin', '--project', 'shop'], { stdin: LUPA_PW })
    const c = await cli(['keys', 'create', 'lupa', '--description', 'ci', '--expires', iso(Date.now() + 5 * DAY), '--save'])
    expect(c.code, c.stderr).toBe(0)
    const later = Date.now() + 6 * DAY
    const jwt = await cli(['token', 'lupa'], { now: later })
    expect(jwt.code).toBe(0)
    expect(jwt.stdout).toMatch(/^eyJ/)
    for (const argv of [
      ['token', 'lupa', '--api-key'],
      ['token', 'lupa', '--format', 'env'],
      ['exec', '--', 'true'],
    ]) {
      const r = await cli(argv, { now: later })
      expect(r.code, argv.join(' ')).toBe(4)
      expect(r.stdout).not.toContain(c.stdout.trim())
      expect(r.stderr).toMatch(/API key \S+ stored in profile default expired/)
      expect(r.stderr).toContain('authctl keys rotate lupasearch')
    }
  })
})

describe('status and doctor show key expiry', () => {
  it('status (--json and table) shows each stored key; doctor warns within 14 days (exit 0) and fails on expired (exit 4)', async () => {
    const now = Date.now()
    await hautLogin()
    await cli(['keys', 'create', 'haut', '--name', 'ci', '--expires', '10d', '--save'])
    const id = String([...haut.privateTokens.keys()][0])
    await cli(['--profile', 'ops', 'login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', iso(now + 3 * DAY)], { stdin: 'lucid-key-0123456789' })
    await cli(['--profile', 'far', 'login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', iso(now + 60 * DAY)], { stdin: 'lucid-key-0123456789' })
    const st = await cli(['status', '--json'])
    const profiles = JSON.parse(st.stdout).profiles as Array<{ provider: string; profile: string; key: unknown }>
    expect(profiles.find((p) => p.provider === 'haut')?.key).toEqual({
      kind: 'private token',
      id,
      expires_at: expect.stringMatching(/^\d{4}-/),
      expired: false,
    })
    expect(profiles.find((p) => p.profile === 'ops')?.key).toEqual({ kind: 'API key', id: null, expires_at: iso(now + 3 * DAY), expired: false })
    const table = await cli(['status'], { now: now + 5 * DAY })
    expect(table.stdout).toMatch(/KEY EXPIRY\n/)
    expect(table.stdout).toMatch(/lucid +ops .* API key: EXPIRED \d{4}-\d\d-\d\d \(expired 2 days ago\)/)
    expect(table.stdout).toMatch(new RegExp(`haut +default .* private token ${id}: expires \\d{4}-\\d\\d-\\d\\d \\(in 5 days\\)`))
    expect(
      JSON.parse((await cli(['status', '--json'], { now: now + 5 * DAY })).stdout).profiles.find((p: { profile: string }) => p.profile === 'ops').key.expired,
    ).toBe(true)

    // Day 0: the haut key expires in 10 days, lucid/ops in 3: warnings only, exit 0.
    const d0 = await cli(['doctor'])
    expect(d0.code, d0.stdout + d0.stderr).toBe(0)
    expect(d0.stdout).toMatch(
      new RegExp(`^warn {2}key haut/default: profile default, haut private token ${id} expires on \\d{4}-\\d\\d-\\d\\d \\(in 10 days\\)$`, 'm'),
    )
    expect(d0.stdout).toMatch(/^warn {2}key lucid\/ops: profile ops, lucid API key expires on \d{4}-\d\d-\d\d \(in 3 days\)$/m)
    expect(d0.stdout).not.toContain('lucid/far')
    // Day 5: lucid/ops has expired: FAIL, exit 4; haut still a warning.
    const d5 = await cli(['doctor', '--json'], { now: now + 5 * DAY })
    expect(d5.code).toBe(4)
    const checks = JSON.parse(d5.stdout).checks as Array<{ name: string; status: string; detail: string; fix?: string }>
    expect(checks.find((c) => c.name === 'key lucid/ops')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('expired on'),
      fix: expect.stringContaining('login lucid --api-key-stdin'),
    })
    expect(checks.find((c) => c.name === 'key haut/default')?.status).toBe('warn')
    // Day 11: the haut key has expired too. It fails (CONTRACT: an expired key is exit 4), and
    // says truly that token and exec log in with the stored password meanwhile.
    const d11 = await cli(['doctor', '--json'], { now: now + 11 * DAY })
    expect(d11.code).toBe(4)
    expect(JSON.parse(d11.stdout).checks.find((c: { name: string }) => c.name === 'key haut/default')).toMatchObject({
      status: 'fail',
      exit_code: 4,
      detail: expect.stringMatching(/expired on .*; token and exec log in with the stored password instead/),
      fix: expect.stringContaining(`keys rotate haut ${id}`),
    })
    // Nothing stored with an expiry: a pass line.
    reset()
    const none = await cli(['doctor', '--json'])
    expect(JSON.parse(none.stdout).checks.find((c: { name: string }) => c.name === 'key expiry')).toMatchObject({ status: 'pass' })
  })
})

describe('a key that never expires is not one of unknown expiry', () => {
  it('status says "never expires" for `--expires never` and for a key saved without an expiry; "expiry unknown" without --expires', async () => {
    await cli(['--profile', 'nev', 'login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', 'never'], { stdin: 'lucid-key-0123456789' })
    await cli(['--profile', 'unk', 'login', 'lucid', '--api-key-stdin', '--no-verify'], { stdin: 'lucid-key-0123456789' })
    await cli(['--profile', 'lupa', 'login', 'lupa', '--email', 'dev@example.com', '--password-stdin', '--project', 'shop'], { stdin: LUPA_PW })
    expect((await cli(['--profile', 'lupa', 'keys', 'create', 'lupa', '--description', 'forever', '--save'])).code).toBe(0)
    const table = (await cli(['status'])).stdout
    expect(table).toMatch(/^lucid +nev .* API key: never expires$/m)
    expect(table).toMatch(/^lucid +unk .* API key: expiry unknown$/m)
    expect(table).toMatch(/^lupasearch +lupa .* API key \S+: never expires$/m)
    // --json keeps its fields: expires_at is null for both, as CONTRACT says.
    const json = JSON.parse((await cli(['status', '--json'])).stdout).profiles as Array<{ profile: string; key: unknown }>
    expect(json.find((p) => p.profile === 'nev')?.key).toEqual({ kind: 'API key', id: null, expires_at: null, expired: false })
  })
})

describe('keys rotate confirmation', () => {
  it('asks on a terminal: declining is exit 130 and creates nothing; accepting rotates', async () => {
    await hautLogin()
    await cli(['keys', 'create', 'haut', '--name', 'ci', '--expires', '30d', '--save'])
    const id = String([...haut.privateTokens.keys()][0])
    const no = await cli(['keys', 'rotate', 'haut', id], { tty: true, answers: { Rotate: false } })
    expect(no.code).toBe(130)
    expect(haut.privateTokens.size).toBe(1)
    const yes = await cli(['keys', 'rotate', 'haut', id], { tty: true, answers: { Rotate: true } })
    expect(yes.code, yes.stderr).toBe(0)
    expect(haut.privateTokens.has(Number(id))).toBe(false)
    expect(JSON.parse(state.store.items.get('haut:default') ?? '{}').privateToken).toBe(yes.stdout.trim())
  })
})
