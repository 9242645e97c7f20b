import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { startLucidworks } from '../emulators/lucidworks.js'
import { baseEnv, BIN, runCli, runNode as runCliWith } from '../helpers/cli.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'
import { tempDir } from '../helpers/tmp.js'

const SECRET = 'lw-secret-0123456789'
const lw = fileEmulator(() => startLucidworks())

function fileEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cliEnv(
    { prefix: 'e2e-', passphrase: 'e2e passphrase' },
    {
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      ...extra,
    },
  )
}

async function loggedIn(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const env = fileEnv(extra)
  const r = await runCli(
    ['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin', '--scope', 'machinelearning.predict', '--scope', 'machinelearning.model'],
    { env, input: `${SECRET}\n` },
  )
  expect(r.stderr).toContain('Logged in')
  expect(r.code).toBe(0)
  return env
}

/** /proc/PID/FILE, or '' for a process gone meanwhile. */
function readProc(pid: string, file: string): string {
  try {
    return readFileSync(join('/proc', pid, file), 'utf8')
  } catch {
    return ''
  }
}

/** `sh -c script` (a pipeline around the CLI), its stdout. */
function runShell(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout }))
  })
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
}

describe('the built CLI against the Lucidworks emulator', () => {
  it('login → token → whoami → exec → status → logout, with nothing secret on disk in clear text', async () => {
    const env = await loggedIn()
    const tok = await runCli(['token', 'lucidworks'], { env })
    expect(tok.code).toBe(0)
    const token = tok.stdout.trim()
    expect(lw.isValid(token)).toBe(true)
    const who = JSON.parse((await runCli(['whoami', 'lucidworks', '--json'], { env })).stdout)
    expect(who.client_id).toBe('lw-client')
    const dir = env.AUTHCTL_CONFIG_DIR as string
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    for (const f of allFiles(dir)) {
      expect(statSync(f).mode & 0o077).toBe(0)
      const text = readFileSync(f, 'utf8')
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(token)
    }
    const ex = await runCli(
      [
        'exec',
        '--',
        process.execPath,
        '-e',
        'const e=process.env; console.log(JSON.stringify({t:e.LUCIDWORKS_ACCESS_TOKEN, m:e.LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_MODEL, p:e.AUTHCTL_PROFILE, s:e.LUCIDWORKS_CLIENT_SECRET ?? null}))',
      ],
      {
        env: { ...env, LUCIDWORKS_CLIENT_SECRET: '' },
      },
    )
    expect(ex.code).toBe(0)
    const seen = JSON.parse(ex.stdout)
    expect(seen.t).toBe(token)
    expect(lw.isValid(seen.m)).toBe(true)
    expect(seen.p).toBe('default')
    expect(seen.s).toBeNull()
    expect((await runCli(['status'], { env })).stdout).toMatch(/lucidworks\s+default\s+client-credentials\s+file\s+lw-client/)
    expect((await runCli(['logout', 'lucidworks'], { env })).code).toBe(0)
    expect((await runCli(['token', 'lucidworks'], { env })).code).toBe(4)
  })

  it('12 parallel `token` processes with a stale cache make exactly one token request, and all print the same valid token', async () => {
    const env = await issuingStaleTokens(lw, () => loggedIn()) // the login caches tokens that are stale by now
    const before = lw.tokenRequests()
    const runs = await Promise.all(Array.from({ length: 12 }, () => runCli(['token', 'lucidworks'], { env })))
    expect(runs.map((r) => r.code)).toEqual(Array(12).fill(0))
    expect(lw.tokenRequests() - before).toBe(1)
    const tokens = new Set(runs.map((r) => r.stdout))
    expect(tokens.size).toBe(1)
    expect(lw.isValid([...tokens][0]!.trim())).toBe(true)
  })

  it('CI: 12 parallel processes with env credentials and no login make one request; a broken keychain does not matter', async () => {
    const env = baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('e2e-ci-'),
      AUTHCTL_STORE: 'keychain',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
      CI: 'true',
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      LUCIDWORKS_CLIENT_ID: 'lw-client',
      LUCIDWORKS_CLIENT_SECRET: SECRET,
    })
    const before = lw.tokenRequests()
    const runs = await Promise.all(Array.from({ length: 12 }, () => runCli(['token', 'lucidworks'], { env })))
    expect(runs.map((r) => r.code)).toEqual(Array(12).fill(0))
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1)
    expect(lw.tokenRequests() - before).toBe(1)
    const again = await runCli(['token', 'lucidworks'], { env })
    expect(again.stdout).toBe(runs[0]!.stdout)
    expect(lw.tokenRequests() - before).toBe(1)
    for (const f of allFiles(env.AUTHCTL_CONFIG_DIR as string)) expect(readFileSync(f, 'utf8')).not.toContain(again.stdout.trim())
  })

  it('a process killed with -9 while holding the renewal lock does not wedge the next call', async () => {
    const env = await loggedIn()
    lw.faults.push({ path: '/v1/token', delayMs: 20_000 })
    const holder = spawn(process.execPath, [BIN, 'token', 'lucidworks', '--force-refresh'], { env, stdio: 'ignore' })
    const lockDir = join(env.AUTHCTL_CONFIG_DIR as string, 'locks')
    const deadline = Date.now() + 10_000
    while (!(readdirSync(lockDir).some((n) => n.startsWith('lucidworks-')) && lw.faults.length === 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(lw.faults.length).toBe(0) // the holder's request is in flight
    holder.kill('SIGKILL')
    await new Promise((r) => holder.on('exit', r))
    const before = lw.tokenRequests()
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env })
    expect(r.code).toBe(0)
    expect(r.ms).toBeLessThan(5000)
    expect(lw.tokenRequests() - before).toBe(1)
    expect(lw.isValid(r.stdout.trim())).toBe(true)
  })

  it('a cached token loads no HTTP client, no prompt library, no colour library (nor commander)', async () => {
    const env = await loggedIn()
    const out = join(tempDir('modules-'), 'modules.json')
    const preload = join(__dirname, '..', 'fixtures', 'record-modules.cjs')
    const cached = await runCli(['token', 'lucidworks'], { env: { ...env, NODE_OPTIONS: `--require ${preload}`, AUTHCTL_TEST_MODULES_OUT: out } })
    expect(cached.code).toBe(0)
    const loaded: string[] = JSON.parse(readFileSync(out, 'utf8'))
    expect(loaded.some((m) => m.endsWith('fast.cjs'))).toBe(true) // the recorder works
    expect(loaded.filter((m) => /undici|@inquirer|prompts\.cjs|chalk|keyring|commander|authctl\.cjs/.test(m))).toEqual([])
    // …and a renewal does load undici (so the check above can fail), on the light path too:
    // no commander, no full bundle (about 24 ms of CPU a start).
    await runCli(['token', 'lucidworks', '--force-refresh'], { env: { ...env, NODE_OPTIONS: `--require ${preload}`, AUTHCTL_TEST_MODULES_OUT: out } })
    const renewal = JSON.parse(readFileSync(out, 'utf8')) as string[]
    expect(renewal.some((m) => m.includes('undici'))).toBe(true)
    expect(renewal.filter((m) => /commander|authctl\.cjs/.test(m))).toEqual([])
  })

  it('the light start-up path prints exactly what the full CLI prints, cached, renewing or failing', async () => {
    const env = await loggedIn({ LUCIDWORKS_APPLICATION_ID: 'app' })
    const full = (argv: string[]) =>
      runCliWith(['-e', `require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'authctl.cjs'))}).main(${JSON.stringify(argv)})`], env)
    const cases = [
      ['--version'],
      ['token', 'lucidworks'],
      ['token', 'lucidworks', '--json'],
      ['--json', 'token', 'lucidworks', '--format', 'raw'],
      ['token', 'lucidworks', '--format', 'header', '--scope', 'machinelearning.model'],
      ['token', 'lucidworks', '--format', 'env'],
      ['token', 'lucidworks', '--format', 'dotenv'],
      ['token', 'lucidworks', '--format', 'powershell'],
      ['--profile', 'default', 'token', 'lucidworks', '--min-ttl', '60'],
      ['exec', '--', 'sh', '-c', 'printf %s "$LUCIDWORKS_ACCESS_TOKEN"'],
      ['exec', '--mask', '--scope', 'machinelearning.model', '--', 'sh', '-c', 'echo "$LUCIDWORKS_ACCESS_TOKEN"'],
      ['exec', '--no-mask', '--', 'sh', '-c', 'echo "$LUCIDWORKS_ACCESS_TOKEN"'],
    ]
    // Errors: the light path reports them itself, in the full CLI's words.
    const errors = [
      ['token', 'nosuch'],
      ['--profile', 'nobody', 'token', 'lucidworks'],
      ['token', 'lucidworks', '--min-ttl', 'soon'],
      ['exec', '--provider', 'lupasearch', '--', 'true'],
      ['exec', '--', 'no-such-command-authctl'],
      // Subcommand options before the subcommand: commander's usage error, never a renewal.
      ['--force-refresh', 'token', 'lucidworks'],
      ['--format', 'json', 'token', 'lucidworks'],
      ['--mask', 'exec', '--', 'true'],
    ]
    // The light path's own error lines (the first four) start with `authctl: `.
    const ownErrors = errors.slice(0, 4)
    for (const argv of [...cases, ...errors]) {
      const fast = await runCli(argv, { env })
      const slow = await full(argv)
      expect({ code: fast.code, out: fast.stdout, err: fast.stderr }, argv.join(' ')).toEqual({ code: slow.code, out: slow.stdout, err: slow.stderr })
      if (ownErrors.includes(argv)) expect(fast.stderr, argv.join(' ')).toMatch(/^authctl: /)
    }
    // Renewals: a new token each, the same code and stderr.
    for (const argv of [
      ['token', 'lucidworks', '--force-refresh'],
      ['--no-color', 'token', 'lucidworks', '--force-refresh', '--format', 'header'],
    ]) {
      const fast = await runCli(argv, { env })
      const slow = await full(argv)
      expect({ code: fast.code, err: fast.stderr }, argv.join(' ')).toEqual({ code: slow.code, err: slow.stderr })
      expect(fast.stdout.replace(/ey[\w.-]+/, 'T')).toBe(slow.stdout.replace(/ey[\w.-]+/, 'T'))
    }
  })

  it('transient failures are retried: two 503s then a token', async () => {
    const env = await loggedIn()
    const before = lw.tokenRequests()
    lw.faults.push({ path: '/v1/token', status: 503, times: 2 })
    const r = await runCli(['token', 'lucidworks', '--force-refresh', '--verbose'], { env })
    expect(r.code).toBe(0)
    expect(lw.tokenRequests() - before).toBe(3)
    expect(r.stderr).toContain('retrying')
    expect(r.stderr).not.toContain(SECRET)
    expect(r.stderr).not.toContain(r.stdout.trim())
  })

  it('a timeout is exit 5 after bounded retries, and the cached token is untouched', async () => {
    const env = await loggedIn({ AUTHCTL_TIMEOUT: '0.3' })
    const cached = (await runCli(['token', 'lucidworks'], { env })).stdout
    const before = lw.tokenRequests()
    lw.faults.push({ path: '/v1/token', delayMs: 1000, times: 4 })
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env })
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/timed out after 4 attempts/)
    expect(lw.tokenRequests() - before).toBe(4)
    expect((await runCli(['token', 'lucidworks'], { env })).stdout).toBe(cached)
  })

  it('a corrupt config file is exit 2 naming it, and it is left as it was', async () => {
    const env = await loggedIn()
    const file = join(env.AUTHCTL_CONFIG_DIR as string, 'config.json')
    writeFileSync(file, '{"version":1,"profiles":')
    const r = await runCli(['token', 'lucidworks'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(file)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(readFileSync(file, 'utf8')).toBe('{"version":1,"profiles":')
  })

  it('a wrong passphrase is exit 6 and the store is unchanged', async () => {
    const env = await loggedIn()
    const file = join(env.AUTHCTL_CONFIG_DIR as string, 'secrets.enc')
    const before = readFileSync(file, 'utf8')
    const r = await runCli(['token', 'lucidworks', '--force-refresh'], { env: { ...env, AUTHCTL_PASSPHRASE: 'nope' } })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/wrong passphrase/)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })

  it('an unwritable config dir is a one-line exit-2 error', async () => {
    if (process.getuid?.() === 0) {
      // root ignores mode bits; a file where the directory should be is the same failure for root
      const parent = tempDir('e2e-ro-')
      writeFileSync(join(parent, 'file'), '')
      const env = fileEnv({ AUTHCTL_CONFIG_DIR: join(parent, 'file', 'authctl') })
      const r = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env, input: SECRET })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^authctl: cannot .*\nhint: .*\n$/)
    } else {
      const parent = tempDir('e2e-ro-')
      chmodSync(parent, 0o500)
      const env = fileEnv({ AUTHCTL_CONFIG_DIR: join(parent, 'authctl') })
      const r = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin'], { env, input: SECRET })
      expect(r.code).toBe(2)
    }
  })
})

describe('exec', () => {
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    env = await loggedIn({ LUCIDWORKS_APPLICATION_ID: 'my-app' })
  })

  it.each([
    ['the child exit code', 'exit 42', 42],
    ['128+N when the child dies of signal N', 'kill -TERM $$', 143],
  ])('passes through %s', async (_n, script, code) => {
    expect((await runCli(['exec', '--', 'sh', '-c', script], { env })).code).toBe(code)
  })

  it('masked, it does not wait for a background process the child left holding its output, and leaves it running', async () => {
    // With --mask the output goes through pipes; the background jobs keep them open after the
    // shell exits, one of them writing all the time, one writing late (it must not die of SIGPIPE).
    const dir = tempDir('e2e-bg-')
    const script = `(while :; do echo tick; sleep .2; done) & echo $! > ${dir}/ticker; (sleep 2; echo late; touch ${dir}/alive) & echo "started $LUCIDWORKS_ACCESS_TOKEN"; exit 3`
    const r = await runCli(['exec', '--mask', '--', 'sh', '-c', script], { env })
    try {
      expect(r.code).toBe(3)
      expect(r.stdout).toMatch(/^started \*+$/m)
      expect(r.ms).toBeLessThan(8000)
      // The drain that took the pipes over (`cat`, outliving authctl) holds nothing of authctl's environment.
      const drains = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && readProc(pid, 'comm').trim() === 'cat')
      expect(drains.length).toBeGreaterThan(0)
      for (const pid of drains) expect(readProc(pid, 'environ')).not.toContain('e2e passphrase')
      await new Promise((resolve) => setTimeout(resolve, 2500))
      expect(existsSync(join(dir, 'alive'))).toBe(true)
    } finally {
      process.kill(Number(readFileSync(join(dir, 'ticker'), 'utf8')))
    }
    // …while output held up by a slow reader is all relayed, however long it takes to be read.
    const slow = await runShell(`"${process.execPath}" "${BIN}" exec --mask -- sh -c 'head -c 150000 /dev/zero | tr "\\0" a; exit 0' | (sleep 3; wc -c)`, env)
    expect(slow.stdout.trim()).toBe('150000')
  })

  it('127 for a missing command, 126 for a non-executable one', async () => {
    expect((await runCli(['exec', '--', 'no-such-command-xyz'], { env })).code).toBe(127)
    const f = join(tempDir('e2e-x-'), 'script.sh')
    writeFileSync(f, '#!/bin/sh\necho hi\n')
    chmodSync(f, 0o644)
    expect((await runCli(['exec', '--', f], { env })).code).toBe(126)
  })

  it('forwards SIGTERM to the child (no terminal), and exits with its code', async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        'exec',
        '--',
        process.execPath,
        '-e',
        'process.on("SIGTERM", () => { console.log("child got SIGTERM"); process.exit(7) }); console.log("ready"); setInterval(() => {}, 1000)',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d
        if (out.includes('ready')) resolve()
      }),
    )
    child.kill('SIGTERM')
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
    expect(out).toContain('child got SIGTERM')
    expect(code).toBe(7)
  })

  it('--mask replaces injected secrets in stdout and stderr, also when written across writes', async () => {
    const script = `
      const t = process.env.LUCIDWORKS_ACCESS_TOKEN
      const half = Math.floor(t.length / 2)
      process.stdout.write('token=' + t.slice(0, half))
      setTimeout(() => { process.stdout.write(t.slice(half) + ' app=' + process.env.LUCIDWORKS_APPLICATION_ID + '\\n'); console.error('err ' + t) }, 50)`
    const masked = await runCli(['exec', '--mask', '--', process.execPath, '-e', script], { env })
    expect(masked.code).toBe(0)
    expect(masked.stdout).toBe('token=*** app=my-app\n')
    expect(masked.stderr).toBe('err ***\n')
    const viaEnv = await runCli(['exec', '--', process.execPath, '-e', script], { env: { ...env, AUTHCTL_MASK: '1' } })
    expect(viaEnv.stdout).toBe('token=*** app=my-app\n')
    const plain = await runCli(['exec', '--', process.execPath, '-e', script], { env })
    expect(plain.stdout).toMatch(/^token=eyJ/)
  })

  it('a provider that fails is named, with its exit code, and the command never runs', async () => {
    const marker = join(tempDir('e2e-x-'), 'ran')
    const r = await runCli(
      ['exec', '--provider', 'lucidworks', '--provider', 'lupa', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`],
      { env },
    )
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('LupaSearch')
    expect(() => readFileSync(marker)).toThrow()
  })

  it('does not interpolate arguments through a shell', async () => {
    const r = await runCli(['exec', '--', 'printf', '%s\\n', '$HOME; echo pwned'], { env })
    expect(r.stdout).toBe('$HOME; echo pwned\n')
  })
})
