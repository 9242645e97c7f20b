import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { baseEnv, BIN, runCli, type CliResult } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const CHILD = join(__dirname, '..', 'fixtures', 'keep-fresh-child.cjs')
const SECRET = 'lw-secret-0123456789'
let lw: LucidworksEmulator

beforeAll(async () => {
  lw = await startLucidworks()
})
afterAll(() => lw.close())

/** CI-style credentials from the environment, a private config dir, and a private TMPDIR for the token directories. */
function freshEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv & { TMPDIR: string } {
  const root = tempDir('keep-fresh-')
  mkdirSync(join(root, 'tmp'), { mode: 0o700 })
  return {
    ...baseEnv({
      AUTHCTL_CONFIG_DIR: join(root, 'config'),
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: SECRET,
      XDG_RUNTIME_DIR: '',
      ...extra,
    }),
    TMPDIR: join(root, 'tmp'),
  }
}

const apiUrl = () => `${lw.url}/ai/prediction/classification/model-1`

/** A running `authctl exec --keep-fresh`, with the child's first stdout line parsed as soon as it arrives. */
function startExec(env: NodeJS.ProcessEnv, childArgs: string[], flags: string[] = []) {
  const proc = spawn(process.execPath, [BIN, 'exec', '--keep-fresh', ...flags, '--', process.execPath, CHILD, ...childArgs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const firstLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(stdout.slice(0, nl)) as Record<string, unknown>)
    })
    proc.on('close', () => reject(new Error(`exec ended before the child reported: ${stderr}`)))
  })
  const stderrLine = (re: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => (re.test(stderr) ? resolve() : setTimeout(check, 20))
      check()
    })
  const closed = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    proc.on('close', (code) => resolve({ code, stdout, stderr })),
  )
  return { proc, firstLine, stderrLine, closed }
}

describe('exec --keep-fresh', () => {
  it('gives the child NAME_FILE and LUCIDWORKS_HEADERS_FILE: 0600 files in a 0700 dir, usable with curl -H @file; removed on exit', async () => {
    const env = freshEnv()
    const script = join(env.TMPDIR, '..', 'job.sh')
    writeFileSync(
      script,
      `#!/bin/sh\nnode ${JSON.stringify(CHILD)} report exit:0 >"$1" || exit 1\ncurl -s -o /dev/null -w '%{http_code}' -H @"$LUCIDWORKS_HEADERS_FILE" -X POST "$2"\nexit 7\n`,
      { mode: 0o700 },
    )
    const out = join(env.TMPDIR, '..', 'report.json')
    const r = await runCli(['exec', '--keep-fresh', '--scope', 'machinelearning.predict', '--scope', 'machinelearning.model', '--', script, out, apiUrl()], {
      env,
    })
    expect(r.code, r.stderr).toBe(7) // the child's code, as plain exec
    expect(r.stdout).toBe('200') // curl -H @"$LUCIDWORKS_HEADERS_FILE" was accepted by the API
    const rep = JSON.parse(execFileSync('cat', [out], { encoding: 'utf8' }))
    const v = rep.vars as Record<string, string>
    const files = rep.files as Record<string, { mode: number; content: string }>
    expect(rep.dirMode).toBe(0o700)
    expect(Object.keys(files).sort()).toEqual([
      'LUCIDWORKS_ACCESS_TOKEN',
      'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL',
      'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT',
      'LUCIDWORKS_HEADERS',
    ])
    for (const f of Object.values(files)) expect(f.mode).toBe(0o600)
    expect(v.LUCIDWORKS_ACCESS_TOKEN_FILE).toBe(join(rep.dir, 'LUCIDWORKS_ACCESS_TOKEN'))
    expect(v.LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL_FILE).toBe(join(rep.dir, 'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL'))
    expect(v.LUCIDWORKS_HEADERS_FILE).toBe(join(rep.dir, 'LUCIDWORKS_HEADERS'))
    // The token with no newline; the same token as the variable; headers = `token --format header`.
    expect(files.LUCIDWORKS_ACCESS_TOKEN?.content).toBe(v.LUCIDWORKS_ACCESS_TOKEN)
    expect(files.LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL?.content).toBe(v.LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL)
    const header = await runCli(['token', 'lucidworks', '--format', 'header'], { env })
    expect(files.LUCIDWORKS_HEADERS?.content).toBe(header.stdout)
    expect(header.stdout).toBe(`Authorization: Bearer ${v.LUCIDWORKS_ACCESS_TOKEN}\n`)
    expect(rep.dir.startsWith(env.TMPDIR)).toBe(true)
    expect(existsSync(rep.dir)).toBe(false)
    expect(readdirSync(env.TMPDIR)).toEqual([])
    expect(JSON.stringify(v)).not.toContain(SECRET)
  })

  it('renews before the token falls below --min-ttl and rewrites the files atomically (never a partial read)', async () => {
    const emu = await startLucidworks({ tokenTtlSeconds: 8 })
    try {
      const env = freshEnv({ AUTHCTL_LUCIDWORKS_TOKEN_URL: emu.tokenUrl })
      const r = await runCli(['exec', '--keep-fresh', '--min-ttl', '3', '--', process.execPath, CHILD, 'watch-file', '11'], { env, timeoutMs: 40_000 })
      expect(r.code, r.stderr).toBe(0)
      const s = JSON.parse(r.stdout)
      expect(s.bad).toEqual([])
      expect(s.reads).toBeGreaterThan(200)
      // 8 s tokens, min-ttl 3 s: renewed at about 4 s left, so 2–3 renewals in 11 s, each one
      // request (one more may land between the child's last read and its exit).
      expect(s.distinct).toBeGreaterThanOrEqual(3)
      expect(emu.tokenRequests() - s.distinct).toBeGreaterThanOrEqual(0)
      expect(emu.tokenRequests() - s.distinct).toBeLessThanOrEqual(1)
      if (emu.tokenRequests() === s.distinct) expect(emu.isValid(s.last)).toBe(true)
      expect(r.stderr).not.toMatch(/warning/)
    } finally {
      await emu.close()
    }
  })

  it('follows a renewal made by another process (--force-refresh) at once', async () => {
    const env = freshEnv()
    const ex = startExec(env, ['wait-change', '10'])
    await ex.stderrLine(/ready/)
    const other = await runCli(['token', 'lucidworks', '--force-refresh'], { env })
    const otherDone = Date.now()
    expect(other.code).toBe(0)
    const done = await ex.closed
    expect(done.code, done.stderr).toBe(0)
    const s = JSON.parse(done.stdout)
    expect(s.token).toBe(other.stdout.trim())
    expect(s.headers).toBe(`Authorization: Bearer ${other.stdout.trim()}\n`)
    expect(s.changedAt - otherDone).toBeLessThan(3000) // not at expiry (an hour away): at once, or at the next 1 s tick under load
  })

  it('--mask also masks the tokens it renews', async () => {
    const emu = await startLucidworks({ tokenTtlSeconds: 4 })
    try {
      const env = freshEnv({ AUTHCTL_LUCIDWORKS_TOKEN_URL: emu.tokenUrl })
      const r = await runCli(['exec', '--keep-fresh', '--mask', '--', process.execPath, CHILD, 'print-later', '3500'], { env, timeoutMs: 30_000 })
      expect(r.code, r.stderr).toBe(0)
      expect(emu.tokenRequests()).toBeGreaterThanOrEqual(2) // the file holds a renewed token by now
      expect(r.stdout).toBe('env=***\nfile=***\n')
    } finally {
      await emu.close()
    }
  })

  it('an exec that cannot get its tokens runs nothing and leaves no directory', async () => {
    const env = freshEnv({ LUCIDWORKS_CLIENT_SECRET: 'wrong-secret-123' })
    const r = await runCli(['exec', '--keep-fresh', '--', process.execPath, CHILD, 'report', 'exit:0'], { env })
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(readdirSync(env.TMPDIR)).toEqual([])
  })
})

/** How the child can end, and what authctl must exit with; the directory is gone in every case. */
const ENDINGS: Array<{ name: string; action: string; signal?: NodeJS.Signals; code: number }> = [
  { name: 'normal exit 0', action: 'exit:0', code: 0 },
  { name: 'exit 3', action: 'exit:3', code: 3 },
  { name: 'the child kills itself (SIGKILL)', action: 'self:SIGKILL', code: 137 },
  { name: 'authctl gets SIGTERM (forwarded; the child dies of it)', action: 'wait', signal: 'SIGTERM', code: 143 },
  { name: 'authctl gets SIGINT without a terminal (forwarded)', action: 'wait', signal: 'SIGINT', code: 130 },
  { name: 'authctl gets SIGHUP (forwarded)', action: 'wait', signal: 'SIGHUP', code: 129 },
  { name: 'authctl gets SIGTERM, the child handles it and exits 0 later', action: 'ignore-term:300', signal: 'SIGTERM', code: 0 },
]

describe.concurrent('exec --keep-fresh: the token directory is removed however the child ends', () => {
  for (const e of ENDINGS) {
    it(`${e.name} → exit ${e.code}`, async () => {
      const env = freshEnv()
      const ex = startExec(env, ['report', e.action])
      const rep = await ex.firstLine
      // The child listed the directory in its report, so it existed; a child that ends right
      // after reporting may already be gone (and the directory with it) when we look.
      expect(rep.dirMode).toBe(0o700)
      if (e.signal) expect(existsSync(rep.dir as string)).toBe(true)
      if (e.signal) ex.proc.kill(e.signal)
      const done = await ex.closed
      expect(done.code, done.stderr).toBe(e.code)
      expect(existsSync(rep.dir as string)).toBe(false)
      expect(readdirSync(env.TMPDIR)).toEqual([])
    })
  }

  it('command not found → 127, no directory left', async () => {
    const env = freshEnv()
    const r: CliResult = await runCli(['exec', '--keep-fresh', '--', 'no-such-command-authctl-test'], { env })
    expect(r.code).toBe(127)
    expect(readdirSync(env.TMPDIR)).toEqual([])
  })

  it('authctl killed with SIGKILL cannot clean up; the next keep-fresh run removes the orphaned directory', async () => {
    const env = freshEnv()
    const ex = startExec(env, ['report', 'wait'])
    const rep = await ex.firstLine
    ex.proc.kill('SIGKILL')
    process.kill(rep.pid as number, 'SIGKILL') // the orphaned child (it holds the pipes open)
    await ex.closed
    expect(existsSync(rep.dir as string)).toBe(true)
    const r = await runCli(['exec', '--keep-fresh', '--', process.execPath, CHILD, 'report', 'exit:0'], { env })
    expect(r.code).toBe(0)
    expect(existsSync(rep.dir as string)).toBe(false)
    expect(readdirSync(env.TMPDIR)).toEqual([])
  })
})
