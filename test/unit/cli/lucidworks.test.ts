import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { decodeJwtClaims } from '../../../src/kernel/jwt.js'
import { startLucidworks, type LucidworksEmulator } from '../../emulators/lucidworks.js'
import { inProcessCli } from '../../helpers/run.js'

const SECRET = 'lw-secret-0123456789'
let lw: LucidworksEmulator
const { cli, reset, state } = inProcessCli(() => ({ AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl }))

beforeAll(async () => {
  lw = await startLucidworks()
})
afterAll(() => lw.close())
beforeEach(() => reset())

const login = (extra: string[] = []) => cli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin', ...extra], { stdin: `${SECRET}\n` })

describe('login', () => {
  it('stores the secret in the store, settings in config (no secret on disk), and caches the verified token', async () => {
    const before = lw.tokenRequests()
    const r = await login(['--scope', 'machinelearning.predict', '--scope', 'machinelearning.model', '--application-id', 'app1'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Logged in to Lucidworks AI as client lw-client')
    expect(lw.tokenRequests() - before).toBe(2)
    expect(JSON.parse(state.store.items.get('lucidworks:default') ?? '{}').clientSecret).toBe(SECRET)
    const cfg = readFileSync(join(state.dir, 'config.json'), 'utf8')
    expect(cfg).not.toContain(SECRET)
    expect(JSON.parse(cfg).profiles['lucidworks:default'].data).toEqual({
      clientId: 'lw-client',
      scopes: ['machinelearning.predict', 'machinelearning.model'],
      applicationId: 'app1',
    })
    const t = await cli(['token', 'lucidworks', '--scope', 'machinelearning.model'])
    expect(t.code).toBe(0)
    expect(lw.tokenRequests() - before).toBe(2) // served from the login's cache
  })

  it('says that verifying replaces any other token of that client and scope', async () => {
    const r = await login(['--scope', 'machinelearning.model'])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/replaces any other token of client lw-client for this scope .*--no-verify/)
  })

  it('--no-verify stores the credential without requesting a token: a token in use elsewhere stays valid', async () => {
    const other = await cli(['token', 'lucidworks'], { env: { LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: SECRET } })
    const production = other.stdout.trim()
    expect(lw.isValid(production)).toBe(true)
    const before = lw.tokenRequests()
    const r = await login(['--no-verify', '--application-id', 'app1'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('without verifying')
    expect(r.stderr).not.toContain('replaces')
    expect(lw.tokenRequests()).toBe(before)
    expect(lw.isValid(production)).toBe(true)
    expect(JSON.parse(state.store.items.get('lucidworks:default') ?? '{}').clientSecret).toBe(SECRET)
    expect(JSON.parse(readFileSync(join(state.dir, 'config.json'), 'utf8')).profiles['lucidworks:default'].data).toEqual({
      clientId: 'lw-client',
      scopes: ['machinelearning.predict'],
      applicationId: 'app1',
    })
    const t = await cli(['token', 'lucidworks'])
    expect(t.code).toBe(0)
    expect(lw.tokenRequests()).toBe(before + 1) // the first token is requested on first use
  })

  it('--no-verify with a wrong secret is stored as given; the first token request reports it (exit 4)', async () => {
    const r = await cli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin', '--no-verify'], { stdin: 'wrong-secret-abcdef' })
    expect(r.code).toBe(0)
    const t = await cli(['token', 'lucidworks'])
    expect(t.code).toBe(4)
    expect(t.stderr).toContain('invalid_client')
  })

  it('without a TTY, a missing secret is exit 2 naming the flag and the variable', async () => {
    const r = await cli(['login', 'lucidworks', '--client-id', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--client-secret-stdin')
    expect(r.stderr).toContain('LUCIDWORKS_CLIENT_SECRET')
    const r2 = await cli(['login', 'lucidworks'], { env: { CI: 'true' }, tty: true })
    expect(r2.code).toBe(2)
    expect(r2.stderr).toContain('--client-id')
  })

  it('prompts on a TTY (masked secret via the prompter) and confirms before replacing', async () => {
    const r = await cli(['login', 'lucidworks'], { tty: true, answers: { 'client ID': 'lw-client', 'client secret': SECRET } })
    expect(r.code).toBe(0)
    const again = await cli(['login', 'lucidworks'], { tty: true, answers: { Replace: false } })
    expect(again.code).toBe(130)
    expect(state.store.items.has('lucidworks:default')).toBe(true)
  })

  it('a rejected secret is exit 4 without the secret in the message, and nothing is stored', async () => {
    const r = await cli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { stdin: 'wrong-secret-abcdef' })
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('invalid_client')
    expect(r.stderr).not.toContain('wrong-secret-abcdef')
    expect(state.store.items.size).toBe(0)
  })

  it.each([
    ['an empty secret', ''],
    ['a two-line secret', 'a\nb\n'],
  ])('refuses %s with exit 2', async (_n, stdin) => {
    const r = await cli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { stdin })
    expect(r.code).toBe(2)
  })

  it('an unknown scope is exit 2', async () => {
    expect((await login(['--scope', 'nope'])).code).toBe(2)
  })
})

describe('token', () => {
  it('prints exactly the token; a second call makes no request', async () => {
    await login()
    const before = lw.tokenRequests()
    const a = await cli(['token', 'lucidworks'])
    const b = await cli(['token', 'lucidworks'])
    expect(a.code).toBe(0)
    expect(a.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/)
    expect(b.stdout).toBe(a.stdout)
    expect(lw.tokenRequests()).toBe(before)
    expect(lw.isValid(a.stdout.trim())).toBe(true)
  })

  it('renews when less than --min-ttl remains, and with --force-refresh', async () => {
    await login()
    const before = lw.tokenRequests()
    expect((await cli(['token', 'lucidworks', '--min-ttl', '600'], { now: Date.now() + 2900_000 })).stderr).toBe('') // 700 s left
    expect(lw.tokenRequests() - before).toBe(0)
    const a = await cli(['token', 'lucidworks', '--min-ttl', '600'], { now: Date.now() + 3100_000 }) // 500 s left
    expect(lw.tokenRequests() - before).toBe(1)
    const b = await cli(['token', 'lucidworks', '--force-refresh'], { now: Date.now() + 3101_000 })
    expect(lw.tokenRequests() - before).toBe(2)
    expect(b.stdout).not.toBe(a.stdout)
    expect(lw.isValid(b.stdout.trim())).toBe(true)
    expect(lw.isValid(a.stdout.trim())).toBe(false) // Lucidworks kills the older token of the scope
  })

  it('status PROVIDER with half an environment credential names the missing variable, as token does', async () => {
    const r = await cli(['status', 'lucidworks'], { env: { LUCIDWORKS_CLIENT_ID: 'lw-client' } })
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/^authctl: LUCIDWORKS_CLIENT_ID is set but LUCIDWORKS_CLIENT_SECRET is not/)
  })

  it('a bad minimum lifetime is exit 2 naming where it came from: --min-ttl or AUTHCTL_MIN_TTL', async () => {
    await login()
    const flag = await cli(['token', 'lucidworks', '--min-ttl', 'soon'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/^authctl: --min-ttl must be a whole number of seconds, got "soon"/)
    const env = await cli(['token', 'lucidworks'], { env: { AUTHCTL_MIN_TTL: 'abc' } })
    expect(env.code).toBe(2)
    expect(env.stderr).toMatch(/^authctl: AUTHCTL_MIN_TTL must be a whole number of seconds, got "abc"/)
  })

  it('formats json, header and env', async () => {
    await login(['--scope', 'machinelearning.predict', '--scope', 'machinelearning.model', '--customer-id', 'cust'])
    const j = JSON.parse((await cli(['token', 'lucidworks', '--format', 'json'])).stdout)
    expect(Object.keys(j).sort()).toEqual(['access_token', 'expires_at', 'profile', 'provider', 'scopes', 'token_type'])
    expect(j).toMatchObject({ provider: 'lucidworks', profile: 'default', token_type: 'Bearer', scopes: ['machinelearning.predict'] })
    expect(Date.parse(j.expires_at)).toBeGreaterThan(Date.now() + 3000_000)
    expect((await cli(['--json', 'token', 'lucidworks'])).stdout).toContain('"access_token"')
    expect((await cli(['token', 'lucidworks', '--format', 'header'])).stdout).toBe(`Authorization: Bearer ${j.access_token}\n`)
    const env = (await cli(['token', 'lucidworks', '--format', 'env'])).stdout
    expect(env).toContain(`export LUCIDWORKS_ACCESS_TOKEN='${j.access_token}'\n`)
    expect(env).toContain(`export LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT='${j.access_token}'\n`)
    expect(env).toMatch(/export LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL='eyJ/)
    expect(env).toContain("export LUCIDWORKS_CUSTOMER_ID='cust'\n")
    expect(env).not.toContain(SECRET)
    expect((await cli(['token', 'lucidworks', '--format', 'yaml'])).code).toBe(2)
  })

  it('works from environment credentials with no login and never touches the store', async () => {
    const env = { LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: SECRET, AUTHCTL_STORE: 'keychain' }
    const before = lw.tokenRequests()
    const a = await cli(['token', 'lucidworks'], { env })
    const b = await cli(['token', 'lucidworks'], { env })
    expect(a.code).toBe(0)
    expect(b.stdout).toBe(a.stdout)
    expect(lw.tokenRequests() - before).toBe(1)
    expect(state.store.items.size).toBe(0)
    // a changed secret misses the cache (and is rejected here)
    const c = await cli(['token', 'lucidworks'], { env: { ...env, LUCIDWORKS_CLIENT_SECRET: 'rotated-secret-xyz' } })
    expect(c.code).toBe(4)
    expect(lw.tokenRequests() - before).toBe(2)
  })

  it('an environment credential with the trailing line break a CI secret store or `echo` adds works; one inside is exit 2 naming the variable', async () => {
    const before = lw.tokenRequests()
    const a = await cli(['token', 'lucidworks'], { env: { LUCIDWORKS_CLIENT_ID: 'lw-client\n', LUCIDWORKS_CLIENT_SECRET: `${SECRET}\r\n` } })
    expect(a.code, a.stderr).toBe(0)
    expect(lw.isValid(a.stdout.trim())).toBe(true)
    expect(lw.tokenRequests() - before).toBe(1)
    const b = await cli(['token', 'lucidworks'], {
      env: { LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: `${SECRET.slice(0, 6)}\n${SECRET.slice(6)}` },
    })
    expect(b.code).toBe(2)
    expect(b.stderr).toMatch(/^authctl: LUCIDWORKS_CLIENT_SECRET contains a line break or NUL/)
    expect(b.stderr).not.toContain(SECRET.slice(6))
    expect(lw.tokenRequests() - before).toBe(1)
  })

  it('status on a terminal fits its width (the widest columns cut with …); piped, nothing is cut', async () => {
    await login(['--scope', 'machinelearning.predict', '--scope', 'machinelearning.model'])
    await cli(['token', 'lucidworks', '--scope', 'machinelearning.model'])
    const piped = (await cli(['status'])).stdout
    expect(piped).toMatch(/machinelearning\.model: in 1 h; machinelearning\.predict: in 1 h/)
    expect(Math.max(...piped.split('\n').map((l) => l.length))).toBeGreaterThan(80)
    const narrow = (await cli(['status'], { columns: 80 })).stdout
    for (const l of narrow.trimEnd().split('\n')) expect(l.length, l).toBeLessThanOrEqual(80)
    expect(narrow).toMatch(/^lucidworks {2}default {2}client-credentials .*…$/m) // provider and profile whole
    expect((await cli(['status'], { columns: 300 })).stdout).toBe(piped)
  })

  it('a broken variable of an incomplete credential is left alone (the stored login serves); a variable that is only a line break is not set', async () => {
    await login()
    const half = await cli(['token', 'lucidworks'], { env: { LUCIDWORKS_CLIENT_SECRET: 'a\nb' } })
    expect(half.code, half.stderr).toBe(0)
    expect(lw.isValid(half.stdout.trim())).toBe(true)
    const blank = { LUCIDWORKS_CLIENT_ID: '\n', LUCIDWORKS_CLIENT_SECRET: SECRET }
    const status = JSON.parse((await cli(['status', '--json'], { env: blank })).stdout).profiles as Array<{
      provider: string
      source: string
      identity: string
    }>
    expect(status.find((e) => e.provider === 'lucidworks')).toMatchObject({ source: 'memory', identity: 'lw-client' })
    reset()
    const login2 = await cli(['login', 'lucidworks', '--no-verify'], { env: { LUCIDWORKS_CLIENT_ID: 'lw-client\n', LUCIDWORKS_CLIENT_SECRET: `${SECRET}\n` } })
    expect(login2.code, login2.stderr).toBe(0) // login reads the variables as token does
    expect(JSON.parse(state.store.items.get('lucidworks:default') ?? '{}').clientSecret).toBe(SECRET)
  })

  it('doctor reads environment credentials as token does: a line break inside is a failed check (exit 2), half a set a warning', async () => {
    type Doc = { checks: Array<{ name: string; status: string; detail: string; exit_code?: number }> }
    const envCheck = (d: Doc) => d.checks.find((c) => c.name === 'environment')
    const broken = await cli(['doctor', '--json'], {
      env: { LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: `${SECRET.slice(0, 4)}\n${SECRET.slice(4)}` },
    })
    expect(broken.code).toBe(2)
    expect(envCheck(JSON.parse(broken.stdout))).toMatchObject({ status: 'fail', exit_code: 2, detail: 'LUCIDWORKS_CLIENT_SECRET contains a line break or NUL' })
    expect(broken.stdout).not.toContain(SECRET.slice(4))
    const half = JSON.parse((await cli(['doctor', '--json'], { env: { LUCIDWORKS_CLIENT_ID: 'lw-client' } })).stdout) as Doc
    expect(envCheck(half)).toMatchObject({ status: 'warn' })
    expect(envCheck(half)?.detail).toMatch(/^LUCIDWORKS_CLIENT_ID is set but LUCIDWORKS_CLIENT_SECRET is not/)
    const good = await cli(['doctor', '--json'], { env: { LUCIDWORKS_CLIENT_ID: 'lw-client\n', LUCIDWORKS_CLIENT_SECRET: `${SECRET}\n` } })
    expect(good.code, good.stdout).toBe(0)
    expect(envCheck(JSON.parse(good.stdout))).toMatchObject({ status: 'pass', detail: 'credentials from the environment for lucidworks' })
    expect(envCheck(JSON.parse((await cli(['doctor', '--json'])).stdout))).toBeUndefined()
  })

  it('not logged in: exit 4 naming the login command and the variables', async () => {
    const r = await cli(['--profile', 'ci', 'token', 'lucidworks'])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('authctl login lucidworks --profile ci')
    expect(r.stderr).toContain('LUCIDWORKS_CLIENT_ID and LUCIDWORKS_CLIENT_SECRET')
  })

  it('a rejected stored secret is exit 4 and the login is kept', async () => {
    await login()
    lw.clients.set('lw-client', 'rotated-on-the-server')
    try {
      const r = await cli(['token', 'lucidworks', '--force-refresh'])
      expect(r.code).toBe(4)
      expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2)
      expect(state.store.items.has('lucidworks:default')).toBe(true)
    } finally {
      lw.clients.set('lw-client', SECRET)
    }
  })

  it.each([
    ['a non-loopback http URL', { AUTHCTL_LUCIDWORKS_TOKEN_URL: 'http://identity.example.com/t' }],
    ['a bad AUTHCTL_TIMEOUT', { AUTHCTL_TIMEOUT: 'soon' }],
    ['a bad AUTHCTL_STORE', { AUTHCTL_STORE: 'vault' }],
  ])('%s is exit 2 before any request', async (_n, env) => {
    const before = lw.requests.length
    const r = await cli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { stdin: SECRET, env })
    expect(r.code).toBe(2)
    expect(lw.requests.length).toBe(before)
  })

  it('provider outages are exit 5 with one line and a hint', async () => {
    await login()
    lw.faults.push({ status: 500, body: '<html>oops</html>' })
    const r = await cli(['token', 'lucidworks', '--force-refresh'])
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/^authctl: .*HTTP 500.*\nhint: .*\n$/)
    lw.faults.push({ status: 200, body: '{"token_type":"Bearer"}' })
    expect((await cli(['token', 'lucidworks', '--force-refresh'])).code).toBe(5)
  })
})

describe('whoami, status, keys, logout', () => {
  it('whoami reports client id, scopes and expiry from the JWT claims', async () => {
    await login()
    const r = await cli(['whoami', 'lucidworks', '--json'])
    const j = JSON.parse(r.stdout)
    expect(j).toMatchObject({ provider: 'lucidworks', profile: 'default', client_id: 'lw-client', scopes: ['machinelearning.predict'], source: 'memory' })
    expect(decodeJwtClaims((await cli(['token', 'lucidworks'])).stdout.trim())?.exp).toBe(Date.parse(j.expires_at) / 1000)
  })

  it('status lists stored and environment credentials, never a secret', async () => {
    await login()
    const r = await cli(['status', '--json'], { env: { LUCIDWORKS_CLIENT_ID: 'env-client', LUCIDWORKS_CLIENT_SECRET: 'env-secret-1234' } })
    const j = JSON.parse(r.stdout)
    expect(j.profiles).toEqual([
      expect.objectContaining({ provider: 'lucidworks', source: 'environment', identity: 'env-client' }),
      expect.objectContaining({ provider: 'lucidworks', source: 'memory', identity: 'lw-client', overridden_by_environment: true }),
    ])
    expect(j.profiles[1].tokens[0]).toMatchObject({ scope: 'machinelearning.predict', expired: false })
    expect(r.stdout).not.toContain('env-secret-1234')
    const human = await cli(['status'])
    expect(human.stdout).toMatch(
      /PROVIDER +PROFILE +KIND +SOURCE +IDENTITY +TOKENS\nlucidworks +default +client-credentials +memory +lw-client +machinelearning.predict: in 1 h/,
    )
  })

  it('keys → exit 7 naming the Platform UI', async () => {
    for (const sub of [
      ['create', 'lucidworks', '--name', 'x'],
      ['list', 'lucidworks'],
      ['revoke', 'lucidworks', 'id1', '--yes'],
    ]) {
      const r = await cli(['keys', ...sub])
      expect(r.code).toBe(7)
      expect(r.stderr).toContain('Models > Integrations')
    }
  })

  it('logout removes secret, tokens and profile; a second logout is exit 3', async () => {
    await login()
    expect((await cli(['logout', 'lucidworks'])).code).toBe(0)
    expect(state.store.items.size).toBe(0)
    expect((await cli(['status', '--json'])).stdout).toContain('"profiles": []')
    expect((await cli(['logout', 'lucidworks'])).code).toBe(3)
  })
})

describe('usage', () => {
  it.each([[['--bogus']], [['token']], [['nope']], [['--profile', '../etc', 'token', 'lucidworks']], [['token', 'lucidworks', '--min-ttl', '-5']]])(
    '%j is exit 2 with a one-line error and a hint',
    async (argv) => {
      const r = await cli(argv)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^authctl: .+\nhint: .+\n$/)
    },
  )

  it.each([
    ['login'],
    ['logout'],
    ['token'],
    ['whoami'],
    ['status'],
    ['exec'],
    ['env'],
    ['keys'],
    ['keys', 'create'],
    ['keys', 'list'],
    ['keys', 'revoke'],
    ['doctor'],
    ['completion'],
  ])('%s --help shows examples, exit 0', async (...cmd) => {
    const r = await cli([...cmd, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Examples:')
  })

  it('--version prints the version', async () => {
    const r = await cli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/)
  })
})
