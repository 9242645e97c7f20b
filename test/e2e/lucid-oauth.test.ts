import { spawn } from 'node:child_process'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startLucid } from '../emulators/lucid.js'
import { BIN, runCli } from '../helpers/cli.js'
import { freePort } from '../helpers/net.js'
import { issuingStaleTokens } from '../helpers/stale.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'
import { tempDir } from '../helpers/tmp.js'

const SECRET = 'lucid-secret-0123456789'
const lucid = fileEmulator(() => startLucid())

const env = (extra: NodeJS.ProcessEnv = {}) =>
  cliEnv(
    { prefix: 'e2e-lucid-', passphrase: 'e2e' },
    {
      AUTHCTL_LUCID_API_URL: lucid.apiUrl,
      AUTHCTL_LUCID_AUTHORIZE_URL: lucid.authorizeUrl,
      ...extra,
    },
  )

/** Runs `login lucid --no-browser`, plays the browser from the printed URL, returns the result. */
async function browserLogin(e: NodeJS.ProcessEnv, port: number, browser: (url: string) => Promise<Response>) {
  const child = spawn(
    process.execPath,
    [BIN, 'login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--no-browser', '--port', String(port)],
    { env: e, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  child.stdin.end(`${SECRET}\n`)
  let stderr = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d
      const m = /(http:\/\/127\.0\.0\.1:\d+\/oauth2\/authorize\?\S+)/.exec(stderr)
      if (m) resolve(m[1] as string)
    })
    child.on('exit', () => reject(new Error(`exited early: ${stderr}`)))
  })
  const page = await browser(url)
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  return { code, stderr, url, page }
}

describe('Lucid OAuth through the built CLI', () => {
  it('completes the browser flow: authorize → redirect to localhost:PORT/callback → code exchange', async () => {
    const e = env()
    const port = await freePort()
    const r = await browserLogin(e, port, (url) => fetch(url)) // fetch follows the redirect, like a browser
    expect(r.page.status).toBe(200)
    expect(await r.page.text()).toContain('logged in to Lucid')
    expect(r.code).toBe(0)
    const q = new URL(r.url).searchParams
    expect(q.get('redirect_uri')).toBe(`http://localhost:${port}/callback`)
    expect(q.get('scope')).toBe('user.profile offline_access')
    expect(q.get('state')?.length).toBeGreaterThanOrEqual(20)
    const who = JSON.parse((await runCli(['whoami', 'lucid', '--json'], { env: e })).stdout)
    expect(who).toMatchObject({ id: '341', email: 'john-doe@example.com', username: 'johndoe' })
  })

  it('opens $BROWSER when --no-browser is not given', async () => {
    const dir = tempDir('browser-')
    const fake = join(dir, 'fake-browser')
    writeFileSync(fake, `#!${process.execPath}\nfetch(process.argv[2]).then((r) => process.exit(r.ok ? 0 : 1))\n`)
    chmodSync(fake, 0o755)
    const e = env({ BROWSER: fake })
    const r = await runCli(['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--port', String(await freePort())], {
      env: e,
      input: SECRET,
    })
    expect(r.stderr).toContain('Opening the browser')
    expect(r.code).toBe(0)
  })

  it('a wrong state is ignored, a denied consent is exit 4', async () => {
    const e = env()
    lucid.consent = 'deny'
    try {
      const r = await browserLogin(e, await freePort(), async (url) => {
        const loc = (await fetch(url, { redirect: 'manual' })).headers.get('location') as string
        const forged = new URL(loc)
        forged.searchParams.set('state', 'forged')
        expect((await fetch(forged)).status).toBe(400) // not ours: ignored
        return fetch(loc)
      })
      expect(r.code).toBe(4)
      expect(r.stderr).toContain('access_denied')
    } finally {
      lucid.consent = 'approve'
    }
  })

  it('after expiry, 10 parallel `token` processes make exactly one refresh; the rotated grant keeps working', async () => {
    const e = env()
    const login = await issuingStaleTokens(lucid, async () => browserLogin(e, await freePort(), (url) => fetch(url)))
    expect(login.code).toBe(0)
    const before = lucid.refreshRequests()
    const runs = await Promise.all(Array.from({ length: 10 }, () => runCli(['token', 'lucid'], { env: e })))
    expect(runs.map((r) => r.code)).toEqual(Array(10).fill(0))
    expect(lucid.refreshRequests() - before).toBe(1)
    expect(new Set(runs.map((r) => r.stdout)).size).toBe(1)
    expect(lucid.isValid(runs[0]!.stdout.trim())).toBe(true)
    const again = await runCli(['token', 'lucid', '--force-refresh'], { env: e })
    expect(again.code).toBe(0)
    expect(lucid.isValid(again.stdout.trim())).toBe(true)
    expect(
      (
        await runCli(
          [
            'exec',
            '--',
            process.execPath,
            '-e',
            'console.log(process.env.LUCID_API_VERSION, process.env.LUCID_ACCESS_TOKEN === process.argv[1])',
            again.stdout.trim(),
          ],
          { env: e },
        )
      ).stdout,
    ).toBe('1 true\n')
  })
})
