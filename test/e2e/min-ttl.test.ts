import { afterAll, describe, expect, it } from 'vitest'
import type { Emulator } from '../emulators/_server.js'
import { startLucidworks } from '../emulators/lucidworks.js'
import { baseEnv, runCli } from '../helpers/cli.js'
import { PROVIDER_CASES } from '../helpers/providers.js'
import { tempDir } from '../helpers/tmp.js'

const emulators: Emulator[] = []
afterAll(async () => {
  await Promise.all(emulators.map((e) => e.close()))
})

/** Providers whose tokens expire (1 h in the emulators); Instabase's stored token has no expiry. */
const EXPIRING = new Set(['lucidworks', 'lupasearch', 'lucid', 'haut', 'oauth2'])

describe.concurrent('a --min-ttl no fresh token could satisfy is clamped, with one warning, and never makes every call renew', () => {
  for (const c of PROVIDER_CASES) {
    it(`${c.id}: --min-ttl 3600 and AUTHCTL_MIN_TTL=3600 with 1 h tokens`, { timeout: 120_000 }, async () => {
      const emu = await c.start()
      emulators.push(emu)
      const env = baseEnv({
        AUTHCTL_CONFIG_DIR: tempDir(`min-ttl-${c.id}-`),
        AUTHCTL_STORE: 'file',
        AUTHCTL_PASSPHRASE: 'min-ttl',
        ...c.env(emu),
      })
      await c.login(env, emu)
      expect((await runCli(['token', c.id], { env })).code).toBe(0) // a cached token, whatever the login left
      const before = emu.count(c.renewPath)
      const runs = [
        await runCli(['token', c.id, '--min-ttl', '3600'], { env }),
        await runCli(['token', c.id], { env: { ...env, AUTHCTL_MIN_TTL: '3600' } }),
        await runCli(['token', c.id, '--min-ttl', '3600', '--format', 'json'], { env }),
      ]
      for (const r of runs) expect(r.code, r.stderr).toBe(0)
      expect(emu.count(c.renewPath) - before, 'renewals').toBe(0)
      expect(new Set(runs.slice(0, 2).map((r) => r.stdout)).size).toBe(1)
      for (const [i, r] of runs.entries()) {
        // The warning names the minimum as it was given: the flag, or the variable.
        const name = i === 1 ? 'AUTHCTL_MIN_TTL' : '--min-ttl'
        if (EXPIRING.has(c.id))
          expect(r.stderr).toMatch(
            new RegExp(`^warning: ${name} 3600 s is not below the .+ token lifetime \\(3[56]\\d\\d s\\) minus 60 s; using 35\\d\\d s\\n$`),
          )
        else expect(r.stderr).toBe('')
      }
    })
  }

  it('lucidworks: 90 s tokens and the default 300 s are clamped silently to half the lifetime (45 s); a chosen --min-ttl with a warning', async () => {
    const lw = await startLucidworks({ tokenTtlSeconds: 90 })
    emulators.push(lw)
    const env = baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('min-ttl-short-'),
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: 'lw-secret-0123456789',
    })
    const runs = [await runCli(['token', 'lucidworks'], { env }), await runCli(['token', 'lucidworks'], { env }), await runCli(['exec', '--', 'true'], { env })]
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
    }
    const chosen = await runCli(['token', 'lucidworks', '--min-ttl', '60'], { env })
    expect(chosen.stderr).toBe('warning: --min-ttl 60 s is not below half the Lucidworks AI token lifetime (90 s); using 45 s\n')
    expect(chosen.stdout).toBe(runs[0]?.stdout)
    expect(runs[0]?.stdout).toBe(runs[1]?.stdout)
    expect(lw.tokenRequests()).toBe(1)
    expect(lw.isValid((runs[0]?.stdout ?? '').trim())).toBe(true)
  })
})
