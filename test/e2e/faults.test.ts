import { afterAll, describe, expect, it } from 'vitest'
import type { Emulator, Fault } from '../emulators/_server.js'
import { baseEnv, runCli } from '../helpers/cli.js'
import { PROVIDER_CASES, type ProviderCase } from '../helpers/providers.js'
import { snapshotDir as snapshot } from '../helpers/fs.js'
import { tempDir } from '../helpers/tmp.js'

interface FaultCase {
  name: string
  /** Injected on the renew path unless `on: 'use'`. */
  faults?: Fault[]
  on?: 'renew' | 'use'
  env?: Record<string, string>
  /** Point the provider at a closed port instead. */
  refused?: boolean
  code: number
  /** Requests that must reach the fault path (the retry bound). */
  requests?: number
  message?: RegExp
  minMs?: number
}

const html = '<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>'
const FAULTS = (c: ProviderCase): FaultCase[] => [
  { name: 'connection refused', refused: true, code: 5, message: /refused the connection after 4 attempts/ },
  { name: 'timeout', env: { AUTHCTL_TIMEOUT: '0.3' }, faults: [{ delayMs: 1500, times: 4 }], code: 5, requests: 4, message: /timed out after 4 attempts/ },
  { name: '429 with Retry-After (then success)', faults: [{ status: 429, headers: { 'retry-after': '1' }, body: '{}' }], code: 0, requests: 2, minMs: 1000 },
  { name: '429 with Retry-After, every time', faults: [{ status: 429, headers: { 'retry-after': '0' }, body: '{}', times: 4 }], code: 5, requests: 4 },
  { name: '500', faults: [{ status: 500, body: '{"error":"server_error"}' }], code: 5, requests: 1, message: /HTTP 500/ },
  {
    // One gateway error per attempt: each of the three is retried, or fewer requests arrive.
    name: '502, 503, 504, 502',
    faults: [502, 503, 504, 502].map((status) => ({ status, body: html, headers: { 'content-type': 'text/html' } })),
    code: 5,
    requests: 4,
  },
  { name: 'malformed JSON', faults: [{ status: 200, body: '{"access_token": "abc' }], code: 5, requests: 1, message: /malformed/ },
  {
    name: 'an HTML page with 200',
    faults: [{ status: 200, body: html, headers: { 'content-type': 'text/html' } }],
    code: 5,
    requests: 1,
    message: /malformed|HTML/,
  },
  { name: 'a truncated body', faults: [{ status: 200, body: '{"access_token":"abc', truncate: true, times: 4 }], code: 5, requests: 4 },
  { name: 'a 10 MB body', faults: [{ status: 200, bodyBytes: 10 * 1024 * 1024 }], code: 5, requests: 1, message: /larger than/ },
  { name: 'token revoked mid-session (401 on use)', on: 'use', faults: [{ status: 401, body: c.revokedBody }], code: 4, requests: 1 },
]

const emulators: Emulator[] = []
afterAll(async () => {
  await Promise.all(emulators.map((e) => e.close()))
})

describe.concurrent('fault matrix: every provider × every fault', () => {
  for (const c of PROVIDER_CASES) {
    it(`${c.id}`, { timeout: 180_000 }, async () => {
      const emu = await c.start()
      emulators.push(emu)
      const env = baseEnv({
        AUTHCTL_CONFIG_DIR: tempDir(`faults-${c.id}-`),
        AUTHCTL_STORE: 'file',
        AUTHCTL_PASSPHRASE: 'faults',
        ...c.env(emu),
      })
      await c.login(env, emu)
      for (const f of FAULTS(c)) {
        const before = snapshot(env.AUTHCTL_CONFIG_DIR as string)
        const path = f.on === 'use' ? c.usePath : c.renewPath
        const argv = f.on === 'use' ? c.use : c.renew
        emu.faults.length = 0
        for (const fault of f.faults ?? []) emu.faults.push({ ...fault, path })
        const runEnv = { ...env, ...f.env, ...(f.refused ? Object.fromEntries(Object.entries(c.env(emu)).map(([k, v]) => [k, v.replace(/:\d+/, ':9')])) : {}) }
        const seen = emu.count(path)
        const r = await runCli(argv, { env: runEnv })
        const label = `${c.id} / ${f.name}: ${r.stderr}`
        expect(r.code, label).toBe(f.code)
        if (f.requests !== undefined) expect(emu.count(path) - seen, label).toBe(f.requests)
        if (f.minMs) expect(r.ms, label).toBeGreaterThanOrEqual(f.minMs)
        expect(emu.faults, `${label} (faults left unconsumed)`).toEqual([])
        if (f.code !== 0) {
          expect(r.stderr, label).toMatch(/^authctl: [^\n]+\n(hint: [^\n]+\n)?$/)
          if (f.message) expect(r.stderr, label).toMatch(f.message)
          expect(snapshot(env.AUTHCTL_CONFIG_DIR as string), `${label} (stored credentials or cache changed)`).toEqual(before)
        }
        for (const s of [...c.loginSecrets, ...c.userTokens]) expect(r.stderr + r.stdout, label).not.toContain(s)
      }
    })
  }
})
