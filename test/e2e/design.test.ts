import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LucidworksEmulator, startLucidworks } from '../emulators/lucidworks.js'
import { baseEnv, runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

// Defects named by issue 14 ("one provider = one folder"), each seen to fail on the old code.
let lw: LucidworksEmulator
beforeAll(async () => {
  lw = await startLucidworks()
})
afterAll(async () => {
  await lw.close()
})

function env(): NodeJS.ProcessEnv {
  const dir = tempDir('design-')
  return baseEnv({ AUTHCTL_CONFIG_DIR: dir, AUTHCTL_STORE: 'file', AUTHCTL_PASSPHRASE: 'p', AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl })
}

describe('help comes from each provider’s descriptor', () => {
  it('`login lucid --help` names Lucid’s variables only; `login lucidworks --help` names Lucidworks’', async () => {
    const lucid = await runCli(['login', 'lucid', '--help'], { env: env() })
    expect(lucid.code).toBe(0)
    expect(lucid.stdout).toMatch(/Usage: authctl login lucid/)
    expect(lucid.stdout).toContain('LUCID_CLIENT_SECRET')
    expect(lucid.stdout).not.toMatch(/LUCIDWORKS_|LUPA_|HAUT_|OAUTH2_/)
    expect(lucid.stdout).not.toContain('--email')
    const lw = await runCli(['login', 'lucidworks', '--help'], { env: env() })
    expect(lw.stdout).toContain('--client-id <id>')
    expect(lw.stdout).toContain('(env LUCIDWORKS_CLIENT_ID)')
    expect(lw.stdout).not.toMatch(/LUCID_|LUPA_|HAUT_/)
  })

  it('`login --help` lists every flag once with the providers that take it, and no provider’s variable as everyone’s', async () => {
    const r = await runCli(['login', '--help'], { env: env() })
    expect(r.stdout).toMatch(/--client-id <id>\s+OAuth client ID \[lucidworks, lucid, oauth2\]/)
    expect(r.stdout).not.toContain('(env LUCIDWORKS_CLIENT_ID)')
    expect(r.stdout).toContain('authctl login PROVIDER --help')
  })
})

describe('exec and env: --scope help from the descriptors', () => {
  it('names the providers that hand out one token per scope, and what the others do', async () => {
    for (const cmd of ['exec', 'env']) {
      const help = (await runCli([cmd, '--help'], { env: env() })).stdout.replace(/\s+/g, ' ')
      expect(help).toContain(
        '--scope <scope> scope, repeatable: one token per scope for Lucidworks AI (the first also as LUCIDWORKS_ACCESS_TOKEN); others use their login',
      )
    }
  })
})

describe('one HTTP → exit code mapping', () => {
  it('a 400 without an OAuth error from a token endpoint is exit 2 (a value was refused), as from any API', async () => {
    const e = env()
    const login = await runCli(['login', 'lucidworks', '--client-id', 'c1', '--client-secret-stdin', '--no-verify'], { env: e, input: 'secret-0123456789' })
    expect(login.code).toBe(0)
    lw.faults.push({ path: '/v1/token', status: 400, times: 1 })
    const r = await runCli(['token', 'lucidworks'], { env: e })
    expect(r.stderr).toMatch(/HTTP 400/)
    expect(r.code).toBe(2)
  })
})
