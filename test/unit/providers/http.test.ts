import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ProviderHttpError, UsageError } from '../../../src/kernel/errors.js'
import { backoffMs, checkProviderUrl, createHttpClient, parseJsonBody, parseRetryAfter, retryBaseMs, type HttpClient } from '../../../src/providers/http.js'
import { startEmulator, type Emulator } from '../../emulators/_server.js'

let emu: Emulator
let http: HttpClient
const sleeps: number[] = []
const debug: string[] = []

beforeAll(async () => {
  emu = await startEmulator((_req, res) => res.json(200, { ok: true }))
  http = await createHttpClient({ timeoutMs: 500, env: {}, debug: (l) => debug.push(l), sleep: async (ms) => void sleeps.push(ms) })
})
afterAll(async () => {
  await http.close()
  await emu.close()
})

const get = () => http.request({ method: 'GET', url: `${emu.url}/x?client_secret=hush` })

describe('http client', () => {
  it('retries 502/503/504 and succeeds on the fourth attempt (3 retries)', async () => {
    const before = emu.requests.length
    emu.faults.push({ status: 502 }, { status: 503 }, { status: 504 })
    const res = await get()
    expect(res.status).toBe(200)
    expect(emu.requests.length - before).toBe(4)
  })

  it('gives up after 3 retries and returns the last answer', async () => {
    const before = emu.requests.length
    emu.faults.push({ status: 503, times: 10 })
    expect((await get()).status).toBe(503)
    expect(emu.requests.length - before).toBe(4)
    emu.faults.length = 0
  })

  it('honours Retry-After on 429', async () => {
    sleeps.length = 0
    emu.faults.push({ status: 429, headers: { 'retry-after': '2' } })
    expect((await get()).status).toBe(200)
    expect(sleeps).toEqual([2000])
  })

  it('fails at once when Retry-After is beyond the bound', async () => {
    emu.faults.push({ status: 429, headers: { 'retry-after': '3600' } })
    await expect(get()).rejects.toThrow(/asks to wait 3600 s/)
  })

  it('does not retry 500 or other 4xx', async () => {
    const before = emu.requests.length
    emu.faults.push({ status: 500 }, { status: 400 })
    expect((await get()).status).toBe(500)
    expect((await get()).status).toBe(400)
    expect(emu.requests.length - before).toBe(2)
  })

  it('times out each attempt and retries, then fails with exit 5', async () => {
    const before = emu.requests.length
    emu.faults.push({ delayMs: 1500, times: 4 })
    const err = await get().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProviderHttpError)
    expect((err as Error).message).toMatch(/timed out after 4 attempts/)
    expect(emu.requests.length - before).toBe(4)
  })

  it('retries a dropped connection', async () => {
    emu.faults.push({ destroy: true })
    expect((await get()).status).toBe(200)
  })

  it('refuses bodies over 1 MiB', async () => {
    emu.faults.push({ bodyBytes: 10 * 1024 * 1024 })
    await expect(get()).rejects.toThrow(/larger than 1024 KiB/)
  })

  it('reports a truncated body as a network failure (exit 5), not a crash', async () => {
    emu.faults.push({ truncate: true, body: '{"a":1', times: 4 })
    await expect(get()).rejects.toBeInstanceOf(ProviderHttpError)
  })

  it('never logs secret query values', () => {
    expect(debug.join('\n')).not.toContain('hush')
    expect(debug.some((l) => l.includes('client_secret=***'))).toBe(true)
  })
})

describe('checkProviderUrl', () => {
  it.each(['https://x.example/t', 'http://127.0.0.1:9/t', 'http://localhost/t', 'http://[::1]:8/t'])('accepts %s', (u) => {
    expect(checkProviderUrl(u, 'V').href).toBeTruthy()
  })
  it.each(['http://example.com/t', 'http://10.0.0.1/t', 'ftp://x/t', 'not a url'])('refuses %s with exit 2', (u) => {
    expect(() => checkProviderUrl(u, 'V')).toThrow(UsageError)
  })
})

describe('parsing', () => {
  it('Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 5000)).toBe(5000)
    expect(parseRetryAfter('soon')).toBeUndefined()
  })
  it('malformed JSON and HTML pages are one-line exit-5 errors', () => {
    expect(() => parseJsonBody({ status: 200, headers: {}, body: '<html>' }, 'x')).toThrow(/an HTML page/)
    expect(() => parseJsonBody({ status: 200, headers: {}, body: '{' }, 'x')).toThrow(/not JSON/)
  })
})

describe('retry backoff and AUTHCTL_RETRY_BASE_MS', () => {
  it('defaults to 250 ms, doubling, jittered within the upper half, capped at 4 s', () => {
    expect(retryBaseMs({})).toBe(250)
    expect(retryBaseMs({ AUTHCTL_RETRY_BASE_MS: '' })).toBe(250)
    for (let i = 0; i < 50; i++) {
      for (const [attempt, cap] of [
        [0, 250],
        [1, 500],
        [2, 1000],
        [4, 4000],
        [9, 4000],
      ] as const) {
        const ms = backoffMs(attempt)
        expect(ms).toBeGreaterThanOrEqual(cap / 2)
        expect(ms).toBeLessThanOrEqual(cap)
      }
    }
  })

  it('scales with the knob (cap 16 × the base), clamped to 1–10 000 ms; not a number is exit 2', () => {
    expect(retryBaseMs({ AUTHCTL_RETRY_BASE_MS: '2' })).toBe(2)
    expect(retryBaseMs({ AUTHCTL_RETRY_BASE_MS: '0' })).toBe(1)
    expect(retryBaseMs({ AUTHCTL_RETRY_BASE_MS: '99999' })).toBe(10_000)
    expect(() => retryBaseMs({ AUTHCTL_RETRY_BASE_MS: 'fast' })).toThrow(UsageError)
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(0, 2)).toBeLessThanOrEqual(2)
      expect(backoffMs(9, 2)).toBeLessThanOrEqual(32)
      expect(backoffMs(9, 2)).toBeGreaterThanOrEqual(16)
    }
  })

  it('a client created with the knob sleeps that backoff; Retry-After is honoured as sent', async () => {
    const waits: number[] = []
    const fast = await createHttpClient({ timeoutMs: 500, env: { AUTHCTL_RETRY_BASE_MS: '4' }, debug: () => {}, sleep: async (ms) => void waits.push(ms) })
    try {
      emu.faults.push({ status: 503 }, { status: 503 }, { status: 429, headers: { 'retry-after': '1' } })
      expect((await fast.request({ method: 'GET', url: `${emu.url}/x` })).status).toBe(200)
      expect(waits).toHaveLength(3)
      expect(waits[0]).toBeLessThanOrEqual(4)
      expect(waits[1]).toBeLessThanOrEqual(8)
      expect(waits[2]).toBe(1000)
    } finally {
      await fast.close()
    }
  })
})
