import { describe, expect, it } from 'vitest'
import { startHaut } from '../emulators/haut.js'
import { startLupaSearch } from '../emulators/lupasearch.js'
import { runCli } from '../helpers/cli.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'

const lupa = fileEmulator(() => startLupaSearch())
const haut = fileEmulator(() => startHaut())

const env = () =>
  cliEnv(
    { prefix: 'e2e-pw-', passphrase: 'e2e' },
    {
      AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
      AUTHCTL_HAUT_API_URL: haut.apiUrl,
    },
  )

const cases = [
  { id: 'lupasearch', email: 'dev@example.com', password: 'lupa-password-123', emu: () => lupa, var: 'LUPA_ACCESS_TOKEN' },
  { id: 'haut', email: 'lab@example.com', password: 'haut-password-123', emu: () => haut, var: 'HAUT_ACCESS_TOKEN' },
] as const

describe.each(cases)('$id through the built CLI', (c) => {
  it('after expiry, 10 parallel `token` processes make exactly one login request and agree', async () => {
    const e = env()
    // cached, and stale for every process by now
    const login = await issuingStaleTokens(c.emu(), () => runCli(['login', c.id, '--email', c.email, '--password-stdin'], { env: e, input: `${c.password}\n` }))
    expect(login.code).toBe(0)
    const before = c.emu().loginRequests()
    const runs = await Promise.all(Array.from({ length: 10 }, () => runCli(['token', c.id], { env: e })))
    expect(runs.map((r) => r.code)).toEqual(Array(10).fill(0))
    expect(c.emu().loginRequests() - before).toBe(1)
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1)
    expect(c.emu().isValid(runs[0]!.stdout.trim())).toBe(true)
  })

  it('exec gets the token but never the password, even when it is inherited', async () => {
    const e = env()
    await runCli(['login', c.id, '--email', c.email, '--password-stdin'], { env: e, input: c.password })
    const pwVar = c.id === 'haut' ? 'HAUT_PASSWORD' : 'LUPA_PASSWORD'
    const r = await runCli(
      ['exec', '--provider', c.id, '--', process.execPath, '-e', `console.log(JSON.stringify({t: process.env.${c.var}, p: process.env.${pwVar} ?? null}))`],
      {
        env: { ...e, [pwVar]: 'inherited-password' },
      },
    )
    expect(r.code).toBe(0)
    const seen = JSON.parse(r.stdout)
    expect(c.emu().isValid(seen.t)).toBe(true)
    expect(seen.p).toBeNull()
  })
})

describe('keys lifecycle through the built CLI', () => {
  it('haut: create → list → revoke → list', async () => {
    const e = env()
    await runCli(['login', 'haut', '--email', 'lab@example.com', '--password-stdin'], { env: e, input: 'haut-password-123' })
    const created = await runCli(['keys', 'create', 'haut', '--name', 'e2e', '--expires', '7d', '--json'], { env: e })
    expect(created.code).toBe(0)
    const obj = JSON.parse(created.stdout)
    expect(obj).toMatchObject({ name: 'e2e', data: expect.stringMatching(/^hpt_/) })
    const list = JSON.parse((await runCli(['keys', 'list', 'haut', '--json'], { env: e })).stdout)
    expect(list.map((k: { id: string }) => k.id)).toContain(String(obj.id))
    expect((await runCli(['keys', 'revoke', 'haut', String(obj.id), '--yes'], { env: e })).code).toBe(0)
    const after = JSON.parse((await runCli(['keys', 'list', 'haut', '--json'], { env: e })).stdout)
    expect(after.map((k: { id: string }) => k.id)).not.toContain(String(obj.id))
  })

  it('lupasearch: create → list → revoke → list', async () => {
    const e = env()
    await runCli(['login', 'lupa', '--email', 'dev@example.com', '--password-stdin', '--project', 'shop'], { env: e, input: 'lupa-password-123' })
    const created = await runCli(['keys', 'create', 'lupa', '--description', 'e2e'], { env: e })
    expect(created.code).toBe(0)
    const list = JSON.parse((await runCli(['keys', 'list', 'lupa', '--json'], { env: e })).stdout)
    expect(list).toHaveLength(1)
    expect((await runCli(['keys', 'revoke', 'lupa', list[0].id, '--yes'], { env: e })).code).toBe(0)
    expect(JSON.parse((await runCli(['keys', 'list', 'lupa', '--json'], { env: e })).stdout)).toEqual([])
  })
})
