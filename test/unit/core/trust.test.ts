import { chmodSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { guardConfigDir } from '../../../src/kernel/config-dir.js'
import { ExitCode, LockTimeoutError } from '../../../src/kernel/errors.js'
import { FUTURE_MTIME_MS, isStale, LOCK_WAIT_MS, withFileLock } from '../../../src/kernel/lock.js'
import { redactUrl, redactUrlsIn } from '../../../src/kernel/redact.js'
import { checkSegment, checkToken, cleanText, escapeJsonControls, pickExpiry, safeIso, saneIn } from '../../../src/kernel/sanitize.js'
import { scrubbedNames, scrubbedValues } from '../../../src/exec/scrub.js'
import { probeAccount } from '../../../src/store/keychain.js'
import { tempDir } from '../../helpers/tmp.js'
import { shellWord } from '../../../src/cli/output.js'

describe('Trust rule: text from a server is data, not terminal input', () => {
  it.each([
    ['OSC 52 clipboard write', 'a\x1b]52;c;ZXZpbA==\x07b', 'ab'],
    ['OSC ended by ST', 'a\x1b]0;title\x1b\\b', 'ab'],
    ['CSI screen clear and colour', 'a\x1b[2J\x1b[31mb\x1b[0m', 'ab'],
    ['8-bit CSI', 'a\x9b31mb', 'ab'],
    ['8-bit OSC', 'a\x9d0;t\x9cb', 'ab'],
    ['carriage return and backspace', 'ok\rPassword:\b', 'okPassword:'],
    ['NUL, DEL and other C0/C1', 'a\0b\x7fc\x85d\x1fe', 'abcde'],
    ['a lone ESC', 'a\x1bcb', 'ab'],
    ['newline', 'a\nb', 'ab'],
  ])('cleanText removes %s', (_n, input, out) => expect(cleanText(input)).toBe(out))

  it('keeps tab and ordinary Unicode', () => expect(cleanText('a\tb é ✓ 日本')).toBe('a\tb é ✓ 日本'))

  it('--json escapes C1 controls too (JSON.stringify only escapes C0)', () => {
    const json = escapeJsonControls(JSON.stringify({ v: 'a\x9b31m\x1b[2J\x7f' }))
    // eslint-disable-next-line no-control-regex
    expect(json).not.toMatch(/[\x00-\x1f\x7f-\x9f]/)
    expect(JSON.parse(json).v).toBe('a\x9b31m\x1b[2J\x7f')
  })
})

describe('Trust rule: a token is printable', () => {
  it('accepts 1–16384 printable ASCII characters without whitespace', () => {
    expect(checkToken('abc.DEF-123_~+/=', 'x')).toBe('abc.DEF-123_~+/=')
    expect(checkToken('x'.repeat(16384), 'x')).toHaveLength(16384)
  })
  it.each([
    ['empty', ''],
    ['newline', 'a\nb'],
    ['NUL', 'a\0b'],
    ['space', 'a b'],
    ['tab', 'a\tb'],
    ['non-ASCII', 'aé'],
    ['too long', 'x'.repeat(16385)],
    ['not a string', 42],
  ])('refuses %s with exit 5 `malformed token`, without echoing it', (_n, bad) => {
    let err: unknown
    try {
      checkToken(bad, 'Test login')
    } catch (e) {
      err = e
    }
    expect((err as { exitCode: number }).exitCode).toBe(ExitCode.Provider)
    expect((err as Error).message).toContain('malformed token')
    if (typeof bad === 'string' && bad.length > 2) expect((err as Error).message).not.toContain(bad)
  })
})

describe('Trust rule: expiry is sane', () => {
  const now = Date.UTC(2026, 0, 1)
  it.each([[Infinity], [NaN], [-1], [0], [1e15], [1e308], [367 * 86400], ['3600']])('expires_in %s is ignored', (v) => expect(saneIn(v, now)).toBeUndefined())
  it('a sane expires_in is used', () => expect(saneIn(3600, now)).toBe(now + 3600_000))
  it('the first sane source wins, else one hour', () => {
    expect(pickExpiry(now, undefined, now + 60_000)).toBe(now + 60_000)
    expect(pickExpiry(now, now + 1e18, now - 1, Infinity)).toBe(now + 3600_000)
  })
  it('no date formatting ever throws', () => {
    for (const v of [1e18, Infinity, NaN, -1e18, undefined, 'x']) expect(() => safeIso(v)).not.toThrow()
    expect(safeIso(1e18)).toBeNull()
  })
})

describe('Trust rule: path segments are validated', () => {
  it.each(['', '.', '..', 'a/b', 'a\\b', 'a%2F', 'a b', 'a\tb', 'a\nb', 'a\x00b', 'a\x85b'])('refuses %j with exit 2', (v) => {
    expect(() => checkSegment(v, 'key id')).toThrow(expect.objectContaining({ exitCode: ExitCode.Usage }))
  })
  it.each(['42', 'b2381908-eb9c-47b5-9e3b-a6986e000939', 'shop', 'acme.io', 'a..b'])('accepts %j', (v) => expect(checkSegment(v, 'key id')).toBe(v))
})

describe('Trust rule: URLs in messages never show userinfo or secret-looking query parameters', () => {
  it.each([
    'https://u:pw-x@h.example/t?password=p-x&token=t-x&client_secret=s-x&api_key=k-x&code=c-x&scope=keep',
    'http://u:pw-x@[bad/?token=t-x&scope=keep',
    'u:pw-x@proxy.example:3128',
    'proxy.example:3128/?key=k-x&scope=keep',
  ])('redactUrl(%j)', (raw) => {
    const out = redactUrl(raw)
    for (const s of ['pw-x', 'p-x', 't-x', 's-x', 'k-x', 'c-x']) expect(out).not.toContain(s)
    if (raw.includes('scope=keep')) expect(out).toContain('scope=keep')
  })
  it('redactUrlsIn finds URLs inside a message', () => {
    const out = redactUrlsIn('failed: redis://:hunter2@cache:6379/0 and https://a.example/x?token=abc; done')
    expect(out).not.toContain('hunter2')
    expect(out).not.toContain('abc')
    expect(out).toContain('done')
  })
})

describe('Trust rule: locks cannot wedge authctl', () => {
  const lockFile = () => join(tempDir('lock-'), 'x.lock')

  it('a lock dated more than 60 s in the future is stale, even with a live holder', () => {
    const path = lockFile()
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'n' }))
    const t = new Date(Date.now() + FUTURE_MTIME_MS + 5000)
    utimesSync(path, t, t)
    expect(isStale(path, 30_000)).toBe(true)
    const soon = new Date(Date.now() + 10_000)
    utimesSync(path, soon, soon)
    expect(isStale(path, 30_000)).toBe(false)
  })

  it('waiting for a live lock ends with exit 6 `lock held by pid N on HOST`, never exit 1, within 120 s', async () => {
    expect(LOCK_WAIT_MS).toBeLessThanOrEqual(120_000)
    const path = lockFile()
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'live' }))
    const err = await withFileLock(path, async () => 'ran', { timeoutMs: 150 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LockTimeoutError)
    expect((err as LockTimeoutError).exitCode).toBe(6)
    expect((err as Error).message).toContain(`lock held by pid ${process.pid} on ${hostname()}`)
  })
})

describe('Trust rule: concurrent logins never fail because of each other', () => {
  it('keychain probe items are named per process and per call', () => {
    const a = probeAccount()
    const b = probeAccount()
    expect(a).not.toBe(b)
    expect(a).toContain(String(process.pid))
  })
})

describe('Trust rule: the config dir is ours', () => {
  it('another owner is exit 2 naming the directory', () => {
    const dir = tempDir('cfg-')
    const uid = statSync(dir).uid + 1
    expect(() => guardConfigDir(dir, () => {}, uid)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining(dir) }))
  })
  it('group/other-writable is tightened to 0700 with one warning; 0700 is left alone silently', () => {
    const dir = tempDir('cfg-')
    chmodSync(dir, 0o777)
    const warnings: string[] = []
    guardConfigDir(dir, (l) => warnings.push(l))
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    guardConfigDir(dir, (l) => warnings.push(l))
    expect(warnings).toHaveLength(1)
  })
  it('a missing directory is fine (created 0700 on first write)', () => {
    expect(() => guardConfigDir(join(tmpdir(), 'does-not-exist-authctl'), () => {})).not.toThrow()
  })
})

describe('Trust rule: the child gets tokens, never keys to the vault', () => {
  it('removes the passphrase, the cache URL, the fleet key and the login secrets; masks their values', () => {
    const names = scrubbedNames(['LUCIDWORKS_CLIENT_SECRET', 'LUPA_PASSWORD'])
    expect(names).toEqual(expect.arrayContaining(['AUTHCTL_PASSPHRASE', 'AUTHCTL_CACHE', 'AUTHCTL_CACHE_KEY', 'LUCIDWORKS_CLIENT_SECRET', 'LUPA_PASSWORD']))
    const values = scrubbedValues({ AUTHCTL_PASSPHRASE: 'pp', AUTHCTL_CACHE: 'redis://:pa%24s@h:6379/0', OTHER: 'x' }, names)
    expect(values).toEqual(['pp', 'redis://:pa%24s@h:6379/0', 'pa$s'])
    // A variable with the line break a CI secret page adds works as a credential: its value without it is masked too.
    expect(scrubbedValues({ LUCIDWORKS_CLIENT_SECRET: 's3cr3t-value\r\n' }, names)).toEqual(['s3cr3t-value\r\n', 's3cr3t-value'])
  })
})

describe('Trust rule: a command we suggest is safe to paste', () => {
  it('a server-given id in a suggested command is one shell word, quoted unless plain', () => {
    expect(shellWord('k_123-abc.def:9')).toBe('k_123-abc.def:9')
    expect(shellWord('k1$(touch pwned)')).toBe("'k1$(touch pwned)'")
    expect(shellWord("a'b;c|d`e`")).toBe(`'a'\\''b;c|d\`e\`'`)
    expect(shellWord('')).toBe("''")
  })
})
