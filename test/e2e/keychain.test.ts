import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { baseEnv, runCli } from '../helpers/cli.js'
import { missingTools, startSecretService, type SecretService } from '../helpers/secret-service.js'
import { tempDir } from '../helpers/tmp.js'

const SECRET = 'lw-secret-0123456789'
const missing = missingTools()
if (missing.length > 0) {
  const msg = `\n*** SKIPPING the real keychain tests: ${missing.join(', ')} not installed (apt-get install gnome-keyring dbus libsecret-tools) ***\n`
  // In CI these tools are installed by .ci/run; a skip there would hide a regression.
  if (process.env.CI) throw new Error(msg)
  process.stderr.write(msg)
}

describe.skipIf(missing.length > 0)('OS keychain through a real Secret Service (gnome-keyring under dbus-run-session)', () => {
  let ss: SecretService
  let lw: LucidworksEmulator
  beforeAll(async () => {
    ss = await startSecretService()
    lw = await startLucidworks()
  })
  afterAll(async () => {
    await ss?.stop()
    await lw?.close()
  })

  const env = (extra: NodeJS.ProcessEnv = {}) => baseEnv({ ...ss.env, AUTHCTL_CONFIG_DIR: tempDir('kc-'), AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl, ...extra })

  it('auto picks the keychain; the secret lives there (not on disk); token and logout work', async () => {
    const e = env()
    const login = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env: e, input: SECRET })
    expect(login.stderr).toContain('OS keychain')
    expect(login.code, login.stderr).toBe(0)
    const item = ss.lookup('lucidworks:default')
    expect(JSON.parse(item ?? '{}').clientSecret).toBe(SECRET)
    const cfg = JSON.parse(readFileSync(join(e.AUTHCTL_CONFIG_DIR as string, 'config.json'), 'utf8'))
    expect(cfg.profiles['lucidworks:default'].store).toBe('keychain')
    const before = lw.tokenRequests()
    const tok = await runCli(['token', 'lucidworks', '--force-refresh'], { env: e })
    expect(tok.code, tok.stderr).toBe(0)
    expect(lw.isValid(tok.stdout.trim())).toBe(true)
    expect(lw.tokenRequests() - before).toBe(1)
    expect((await runCli(['logout', 'lucidworks'], { env: e })).code).toBe(0)
    expect(ss.lookup('lucidworks:default')).toBeUndefined()
    expect(ss.accounts().filter((a) => a.startsWith('__authctl_probe__'))).toEqual([]) // probes are cleaned up
  })

  it('two profiles of one provider keep separate items', async () => {
    const e = env()
    for (const profile of ['a', 'b']) {
      const r = await runCli(['--profile', profile, 'login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env: e, input: SECRET })
      expect(r.code, r.stderr).toBe(0)
    }
    expect(ss.lookup('lucidworks:a')).toBeDefined()
    expect(ss.lookup('lucidworks:b')).toBeDefined()
    await runCli(['--profile', 'a', 'logout', 'lucidworks'], { env: e })
    expect(ss.lookup('lucidworks:a')).toBeUndefined()
    expect(ss.lookup('lucidworks:b')).toBeDefined()
  })

  it('no Secret Service: auto login is exit 6 with the fix, before any request, and nothing is written', async () => {
    const e = env({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' })
    const before = lw.requests.length
    const r = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env: e, input: SECRET })
    expect(r.code).toBe(6)
    // Two lines, doctor's two ways out, no D-Bus internals (those are --verbose).
    expect(r.stderr).toMatch(/^authctl: no OS keychain[^\n]*\nhint: [^\n]+\n$/)
    expect(r.stderr).toMatch(/dbus-run-session.*gnome-keyring-daemon --unlock.*AUTHCTL_STORE=file with AUTHCTL_PASSPHRASE/)
    expect(r.stderr).not.toMatch(/Platform failure|DBus error/)
    expect(r.stderr).not.toContain(SECRET)
    expect(r.ms).toBeLessThan(5000)
    expect(lw.requests.length).toBe(before)
    expect(() => readFileSync(join(e.AUTHCTL_CONFIG_DIR as string, 'config.json'))).toThrow()
    const doc = JSON.parse((await runCli(['doctor', '--json'], { env: e })).stdout) as { checks: Array<{ name: string; fix?: string }> }
    expect(r.stderr).toContain(doc.checks.find((c) => c.name === 'keychain')?.fix) // the same fix doctor gives
  })

  it('a stored keychain login whose keychain went away is exit 6, and the login is kept', async () => {
    const e = env()
    const login = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env: e, input: SECRET })
    expect(login.code, login.stderr).toBe(0)
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: { ...e, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } })
    expect(r.code).toBe(6)
    expect(ss.lookup('lucidworks:default')).toBeDefined()
  })
})
