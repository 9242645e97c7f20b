import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { baseEnv, BIN, runCli } from '../helpers/cli.js'
import { hasTmux, startTmux } from '../helpers/tmux.js'
import { tempDir } from '../helpers/tmp.js'

const SECRET = 'lw-secret-0123456789'
if (!hasTmux()) {
  const msg = '\n*** SKIPPING the pseudo-terminal tests: tmux not installed (apt-get install tmux) ***\n'
  if (process.env.CI) throw new Error(msg)
  process.stderr.write(msg)
}

describe.skipIf(!hasTmux())('interactive login in a real terminal (tmux)', () => {
  let lw: LucidworksEmulator
  beforeAll(async () => {
    lw = await startLucidworks()
  })
  afterAll(() => lw.close())

  const env = () =>
    baseEnv({
      AUTHCTL_CONFIG_DIR: tempDir('tty-'),
      AUTHCTL_STORE: 'file',
      AUTHCTL_PASSPHRASE: 'tty passphrase',
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      TERM: 'xterm-256color',
    })

  /** A file-store login made without a request; the tests then run without AUTHCTL_PASSPHRASE. */
  const storedLogin = async () => {
    const e = env()
    const login = await runCli(['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin', '--no-verify'], { env: e, input: SECRET })
    expect(login.code).toBe(0)
    return e
  }

  it('prompts for the client id and a masked secret, then logs in', async () => {
    const e = env()
    const t = startTmux(`authctl-login-${process.pid}`, `${process.execPath} ${BIN} login lucidworks`, e)
    try {
      await t.waitFor(/client ID/)
      t.send('lw-client', 'Enter')
      await t.waitFor(/client secret/)
      t.send(SECRET, 'Enter')
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('Logged in to Lucidworks AI as client lw-client')
      expect(screen).toContain('EXIT:0')
      expect(screen).not.toContain(SECRET) // masked while typed
      expect(screen).toMatch(/\*{8,}/)
      const cfg = JSON.parse(readFileSync(join(e.AUTHCTL_CONFIG_DIR as string, 'config.json'), 'utf8'))
      expect(cfg.profiles['lucidworks:default'].data.clientId).toBe('lw-client')
    } finally {
      t.kill()
    }
  })

  it('file store, no AUTHCTL_PASSPHRASE, no fresh token: the passphrase is asked once (the light path renews itself)', async () => {
    const e = await storedLogin()
    const before = lw.tokenRequests()
    const t = startTmux(`authctl-pass-${process.pid}`, `${process.execPath} ${BIN} token lucidworks`, { ...e, AUTHCTL_PASSPHRASE: undefined })
    try {
      await t.waitFor(/Passphrase for the authctl secret file/)
      t.send('tty passphrase', 'Enter')
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('EXIT:0')
      expect(screen.match(/Passphrase for the authctl secret file/g)).toHaveLength(1)
      expect(lw.tokenRequests() - before).toBe(1) // one renewal, by the full CLI
    } finally {
      t.kill()
    }
  })

  it('a mistyped passphrase is asked for again (3 tries), and the run goes on with the right one', async () => {
    const e = await storedLogin()
    const t = startTmux(`authctl-retry-${process.pid}`, `${process.execPath} ${BIN} token lucidworks`, { ...e, AUTHCTL_PASSPHRASE: undefined })
    try {
      await t.waitFor(/Passphrase for the authctl secret file/)
      t.send('tty passfrase', 'Enter')
      await t.waitFor(/wrong passphrase, try again \(2 of 3\)/)
      t.send('tty passphrase', 'Enter')
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('EXIT:0')
      expect(screen.match(/Passphrase for the authctl secret file/g)).toHaveLength(2)
      expect(screen).toMatch(/^eyJ/m) // the token
    } finally {
      t.kill()
    }
  })

  it('status fits a 120-column terminal: no row wraps, the widest cells end in …', async () => {
    const e = { ...env(), AUTHCTL_PROFILE: 'nightly-prediction-jobs' }
    const login = await runCli(
      ['login', 'lucidworks', '--client-id', 'lw-client', '--client-secret-stdin', '--scope', 'machinelearning.predict', '--scope', 'machinelearning.model'],
      { env: e, input: SECRET },
    )
    expect(login.code, login.stderr).toBe(0)
    expect((await runCli(['token', 'lucidworks', '--scope', 'machinelearning.model'], { env: e })).code).toBe(0)
    const piped = await runCli(['status'], { env: e })
    expect(Math.max(...piped.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(120)
    const t = startTmux(`authctl-status-${process.pid}`, `${process.execPath} ${BIN} status`, e)
    try {
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('EXIT:0')
      const rows = screen.split('\n')
      const i = rows.findIndex((l) => l.startsWith('PROVIDER'))
      expect(rows[i + 1]).toMatch(/^lucidworks {2}nightly-prediction-jobs {2}client-credentials .*…$/)
      expect(rows[i + 2]).toMatch(/^EXIT:0/) // the row did not wrap onto a second line
    } finally {
      t.kill()
    }
  })

  it('with stderr (where prompts go) not a terminal, nothing prompts: exit 2 at once instead of an invisible question', async () => {
    const e = await storedLogin()
    const t = startTmux(`authctl-quiet-${process.pid}`, `${process.execPath} ${BIN} token lucidworks 2>/dev/null`, { ...e, AUTHCTL_PASSPHRASE: undefined })
    try {
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('EXIT:2')
    } finally {
      t.kill()
    }
  })

  it('without a provider, login asks which one (arrow keys + Enter)', async () => {
    const e = env()
    const t = startTmux(`authctl-choose-${process.pid}`, `${process.execPath} ${BIN} login`, e)
    try {
      await t.waitFor(/Log in to which provider\?/)
      t.send('Enter') // the first choice: Lucidworks AI
      await t.waitFor(/client ID/)
      t.send('lw-client', 'Enter')
      await t.waitFor(/client secret/)
      t.send(SECRET, 'Enter')
      expect(await t.waitFor(/EXIT:\d+/)).toContain('EXIT:0')
    } finally {
      t.kill()
    }
  })

  it('errors are coloured on a terminal, and not with NO_COLOR', async () => {
    for (const [noColor, coloured] of [
      [undefined, true],
      ['1', false],
    ] as const) {
      const t = startTmux(`authctl-colour-${process.pid}-${coloured}`, `${process.execPath} ${BIN} token nope`, { ...env(), NO_COLOR: noColor })
      try {
        await t.waitFor(/EXIT:2/)
        expect(t.rawScreen().includes('\x1b[')).toBe(coloured)
      } finally {
        t.kill()
      }
    }
  })

  it('--no-color reaches the prompts too', async () => {
    const t = startTmux(`authctl-nocolor-${process.pid}`, `${process.execPath} ${BIN} --no-color login`, env())
    try {
      await t.waitFor(/Log in to which provider\?/)
      expect(t.rawScreen()).not.toMatch(/\x1b\[(3\d|1)m/) // no colour, no bold
      t.send('C-c')
      await t.waitFor(/EXIT:130/)
    } finally {
      t.kill()
    }
  })

  it('exec in a terminal: Ctrl-C reaches the child exactly once, and its exit code comes back', async () => {
    const child = `let n = 0; process.on('SIGINT', () => { n++; console.log('got SIGINT ' + n); setTimeout(() => process.exit(5), 300) }); console.log('ready'); setInterval(() => {}, 1000)`
    // A token from the environment (served without a request): exec with no credentials runs nothing.
    const t = startTmux(`authctl-sigint-${process.pid}`, `${process.execPath} ${BIN} exec -- ${process.execPath} -e "${child}"`, {
      ...env(),
      INSTABASE_API_TOKEN: 'ib-token-0123456789',
    })
    try {
      await t.waitFor(/ready/)
      t.send('C-c')
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('got SIGINT 1')
      expect(screen).not.toContain('got SIGINT 2')
      expect(screen).toContain('EXIT:5')
    } finally {
      t.kill()
    }
  })

  it('Ctrl-C at a prompt is exit 130 and writes nothing', async () => {
    const e = env()
    const t = startTmux(`authctl-cancel-${process.pid}`, `${process.execPath} ${BIN} login lucidworks`, e)
    try {
      await t.waitFor(/client ID/)
      t.send('C-c')
      const screen = await t.waitFor(/EXIT:\d+/)
      expect(screen).toContain('EXIT:130')
      expect(() => readFileSync(join(e.AUTHCTL_CONFIG_DIR as string, 'config.json'))).toThrow()
    } finally {
      t.kill()
    }
  })
})
