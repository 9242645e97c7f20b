import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startInstabase, type InstabaseEmulator } from '../../emulators/instabase.js'
import { inProcessCli } from '../../helpers/run.js'

const TOKEN = 'ib-token-abcdefghijklmnopqrst'
let ib: InstabaseEmulator
const { cli, reset } = inProcessCli(() => ({ AUTHCTL_INSTABASE_API_URL: ib.apiUrl }))
beforeAll(async () => {
  ib = await startInstabase({ tokens: { [TOKEN]: { contexts: ['john.doe_acme.com', 'acme-org'] }, 'ib-broke-token-0000': { contexts: ['u'], units: false } } })
})
afterAll(() => ib.close())
beforeEach(() => reset())

describe('instabase', () => {
  it('stores a token with a context after GET /v2/batches?limit=1; header adds IB-Context; exec vars', async () => {
    const r = await cli(['login', 'aihub', '--token-stdin', '--context', 'acme-org'], { stdin: `${TOKEN}\n` })
    expect(r.code).toBe(0)
    const check = ib.requests.at(-1)!
    expect(check.path).toBe('/api/v2/batches')
    expect(check.query.get('limit')).toBe('1')
    expect(check.headers['ib-context']).toBe('acme-org')
    expect((await cli(['token', 'instabase'])).stdout).toBe(`${TOKEN}\n`)
    expect((await cli(['token', 'instabase', '--format', 'header'])).stdout).toBe(`Authorization: Bearer ${TOKEN}\nIB-Context: acme-org\n`)
    expect((await cli(['token', 'instabase', '--format', 'env'])).stdout).toBe(`export INSTABASE_API_TOKEN='${TOKEN}'\nexport INSTABASE_CONTEXT='acme-org'\n`)
    const j = JSON.parse((await cli(['token', 'instabase', '--json'])).stdout)
    expect(j).toMatchObject({ provider: 'instabase', expires_at: null, scopes: [] })
    expect(JSON.parse((await cli(['whoami', 'instabase', '--json'])).stdout)).toMatchObject({ provider: 'instabase', context: 'acme-org', valid: true })
  })

  it('a token pasted with spaces or a tab around it (prompt, stdin, INSTABASE_API_TOKEN) is stored trimmed; a space inside is exit 2', async () => {
    const prompted = await cli(['login', 'instabase', '--context', 'acme-org'], { tty: true, answers: { 'AI Hub API token': `  ${TOKEN} ` } })
    expect(prompted.code, prompted.stderr).toBe(0)
    expect((await cli(['token', 'instabase'])).stdout).toBe(`${TOKEN}\n`)
    reset()
    const piped = await cli(['login', 'instabase', '--token-stdin', '--context', 'acme-org'], { stdin: `\t${TOKEN}  \n` })
    expect(piped.code, piped.stderr).toBe(0)
    reset()
    const env = await cli(['login', 'instabase', '--context', 'acme-org'], { env: { INSTABASE_API_TOKEN: ` ${TOKEN}\n` } })
    expect(env.code, env.stderr).toBe(0)
    expect((await cli(['token', 'instabase'])).stdout).toBe(`${TOKEN}\n`)
    const inside = await cli(['login', 'instabase', '--token-stdin', '--context', 'acme-org'], { stdin: `${TOKEN.slice(0, 8)} ${TOKEN.slice(8)}\n` })
    expect(inside.code).toBe(2)
    expect(inside.stderr).toContain('contains spaces or non-ASCII characters')
  })

  it('names flags as typed and verbs by number: --no-… that does not apply, "INSTABASE_API_TOKEN is set"', async () => {
    const bad = await cli(['login', 'haut', '--email', 'lab@example.com', '--password-stdin', '--no-verify'], { stdin: 'pw\n' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^authctl: --no-verify does not apply to haut/)
    const env = await cli(['login', 'instabase', '--token-stdin', '--context', 'acme-org'], { stdin: TOKEN, env: { INSTABASE_API_TOKEN: TOKEN } })
    expect(env.code, env.stderr).toBe(0)
    expect(env.stderr).toContain('INSTABASE_API_TOKEN is set in this environment and takes precedence over the stored login')
    const out = await cli(['logout', 'instabase'], { env: { INSTABASE_API_TOKEN: TOKEN } })
    expect(out.stderr).toContain('INSTABASE_API_TOKEN is still set in this environment')
  })

  it('several contexts of one token are several profiles', async () => {
    await cli(['--profile', 'personal', 'login', 'instabase', '--token-stdin', '--context', 'john.doe_acme.com'], { stdin: TOKEN })
    await cli(['--profile', 'org', 'login', 'instabase', '--token-stdin', '--context', 'acme-org'], { stdin: TOKEN })
    expect((await cli(['--profile', 'personal', 'token', 'instabase', '--format', 'header'])).stdout).toContain('IB-Context: john.doe_acme.com')
    expect((await cli(['--profile', 'org', 'token', 'instabase', '--format', 'header'])).stdout).toContain('IB-Context: acme-org')
  })

  it('401 → exit 4 naming token or context; 403 → consumption units; --no-verify skips the check', async () => {
    const bad = await cli(['login', 'instabase', '--token-stdin', '--context', 'someone-else'], { stdin: TOKEN })
    expect(bad.code).toBe(4)
    expect(bad.stderr).toMatch(/token or the context someone-else/)
    const broke = await cli(['login', 'instabase', '--token-stdin', '--context', 'u'], { stdin: 'ib-broke-token-0000' })
    expect(broke.code).toBe(4)
    expect(broke.stderr).toContain('consumption units')
    const before = ib.requests.length
    expect((await cli(['login', 'instabase', '--token-stdin', '--no-verify'], { stdin: 'whatever-token-1234' })).code).toBe(0)
    expect(ib.requests.length).toBe(before)
  })

  it('keys → exit 7 naming Settings > APIs; env credentials work with no login', async () => {
    const k = await cli(['keys', 'list', 'instabase'])
    expect(k.code).toBe(7)
    expect(k.stderr).toContain('Settings > APIs')
    const r = await cli(['token', 'instabase', '--format', 'header'], { env: { INSTABASE_API_TOKEN: TOKEN, INSTABASE_CONTEXT: 'acme-org' } })
    expect(r.stdout).toBe(`Authorization: Bearer ${TOKEN}\nIB-Context: acme-org\n`)
  })
})
