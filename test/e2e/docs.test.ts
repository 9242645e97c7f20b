import { execFile, spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect, type AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from '../emulators/_server.js'
import { startHaut, type HautEmulator } from '../emulators/haut.js'
import { startInstabase, type InstabaseEmulator } from '../emulators/instabase.js'
import { startLucid, type LucidEmulator } from '../emulators/lucid.js'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { startLupaSearch, type LupaEmulator } from '../emulators/lupasearch.js'
import { BIN, baseEnv, seedFileStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { selfSignedCert } from '../helpers/tls.js'

/**
 * The doc test: every example in `authctl … --help` and in README.md's `sh` blocks is read from
 * the help output and the README themselves (never a copy), and run with bash in a sandbox
 * against the emulators — unless it matches one of the documented reasons below. `curl` reaches
 * the real hosts' names through a TLS front (curl's `connect-to`), which hands each connection to
 * the emulator of that host, so an example's URL is used exactly as written, and the test sees
 * the token that arrived.
 */

const exec = promisify(execFile)
const ROOT = dirname(dirname(BIN))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** Examples that cannot run offline in a sandbox, each with why. Every entry must still match. */
const NOT_OFFLINE: Array<[RegExp, string]> = [
  [/^(npm|git|apt-get|dbus-run-session) /, 'installs software or changes the machine'],
  [/^npx |authctl@\d/, 'the npm registry (authctl is not published there yet)'],
  [/source <\(|fpath|compinit|\.config\/fish/, "changes the user's shell setup (test/e2e/completions.test.ts covers the scripts)"],
  [/login lucid --client-id|"\$CODE"/, "Lucid's browser OAuth flow (test/e2e/lucid-oauth.test.ts drives it)"],
  [/…|\.\.\.|<your | ID\b/, 'a placeholder for the reader’s own value'],
  [/python /, "the reader's own Python program"],
  [/predict-all\.sh/, 'a script the reader saves and runs under `exec --keep-fresh` (test/e2e/keep-fresh.test.ts runs that pattern)'],
  [/\$APP\b|\$USE_CASE\b/, "the reader's own Lucidworks application and model"],
  [/docker run/, 'needs Docker'],
  [/Invoke-Expression/, 'PowerShell, not bash'],
  [
    /^authctl keys rotate lupa /,
    "README's key-rotation block lists alternatives: its `login lupa --api-key-stdin` line replaces the password login this needs",
  ],
  [/redis:\/\/|run-predictions/, 'needs a Redis server (test/e2e/redis.test.ts)'],
  [/^authctl --profile staging login lucidworks$/, 'interactive: prompts for the client id and secret (test/e2e/interactive.test.ts)'],
  [
    /auth\.example\.com|--profile (billing|crm) /,
    "the reader's own OAuth2 server (test/e2e/oauth2.test.ts runs these flows against an emulator and node-oidc-provider)",
  ],
]

interface Example {
  where: string
  command: string
}

const LW_SECRET = 'doc-lw-secret-0123456789'
const PASSWORD = 'doc-password-0123456789'
const IB_TOKEN = 'docibtoken0123456789abcdef'
const API_KEY = 'doc-api-key-0123456789abcdef'
const LUPA_KEY_ID = 'b2381908-eb9c-47b5-9e3b-a6986e000939'

let lw: LucidworksEmulator
let lupa: LupaEmulator
let haut: HautEmulator
let ib: InstabaseEmulator
let lucid: LucidEmulator
let front: TlsServer
/** What arrived through the TLS front: host, request line, credential header, response status. */
const seen: Array<{ host: string; request: string; credential: string; status: number }> = []

function hostEmulator(host: string): Emulator | undefined {
  if (host === 'api.lucidworks.com' || host.endsWith('.applications.lucidworks.com')) return lw
  if (host === 'api.lucid.co') return lucid
  if (host === 'saas.haut.ai') return haut
  if (host === 'api.lupasearch.com') return lupa
  if (host === 'aihub.instabase.com') return ib
  return undefined
}

/** TLS termination for the providers' real host names, piping each connection to its emulator. */
async function startFront(): Promise<TlsServer> {
  const files = selfSignedCert('authctl-docs')
  const server = createTlsServer({ key: readFileSync(files.key), cert: readFileSync(files.cert) }, (sock) => {
    const host = (sock as unknown as { servername?: string }).servername ?? ''
    const emu = hostEmulator(host)
    if (!emu) return sock.destroy()
    const up = connect(emu.port, '127.0.0.1')
    const rec = { host, request: '', credential: '', status: 0 }
    sock.once('data', (d: Buffer) => {
      const head = d.toString('latin1')
      rec.request = head.split('\r\n')[0] ?? ''
      rec.credential =
        /^(authorization|x-lupa-api-key): *(.*)$/im
          .exec(head)?.[2]
          ?.replace(/^Bearer /i, '')
          .trim() ?? ''
      seen.push(rec)
    })
    up.once('data', (d: Buffer) => (rec.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(d.toString('latin1'))?.[1] ?? 0)))
    sock.pipe(up).pipe(sock)
    sock.on('error', () => up.destroy())
    up.on('error', () => sock.destroy())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return server
}

function seed(): void {
  lupa.keys.set(LUPA_KEY_ID, {
    id: LUPA_KEY_ID,
    org: 'acme',
    project: 'shop',
    description: 'old import',
    access: 'read',
    restrictIndexScope: false,
    indexIds: [],
    expiration: null,
    key: 'old-lupa-key-0123456789',
  })
  haut.privateTokens.set(42, {
    id: 42,
    name: 'old',
    expiration_time: new Date(Date.now() + 86400_000).toISOString(),
    data: 'old-haut-token-0123456789',
    email: 'lab@example.com',
  })
}

beforeAll(async () => {
  lw = await startLucidworks({ clients: { '0oa1b2c3': LW_SECRET, 'staging-client': LW_SECRET } })
  lupa = await startLupaSearch({
    users: [{ email: 'you@example.com', password: PASSWORD, id: 'u-doc', organizations: [{ slug: 'acme', role: 'ORGANIZATION_ADMIN', projects: ['shop'] }] }],
  })
  haut = await startHaut({ users: [{ id: 7, email: 'lab@example.com', password: PASSWORD, companyId: '123e4567-e89b-12d3-a456-426614174000' }] })
  ib = await startInstabase({ tokens: { [IB_TOKEN]: { contexts: ['acme-org', 'john.doe_acme.com'] } } })
  lucid = await startLucid()
  lucid.apiKeys.set(API_KEY, 341)
  front = await startFront()
}, 60_000)

afterAll(async () => {
  front?.close()
  for (const e of [lw, lupa, haut, ib, lucid]) await e?.close()
})

/** A logged-in config dir, made once and copied into each sandbox. */
let template: string | undefined

/** A throwaway home for one run: config dir, the files the examples read, and authctl on PATH. */
async function sandbox(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = tempDir('docs-')
  seed()
  mkdirSync(join(dir, 'bin'))
  writeFileSync(join(dir, 'bin', 'authctl'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 })
  const files: Record<string, string> = {
    'secret.txt': LW_SECRET,
    'password.txt': PASSWORD,
    'token.txt': IB_TOKEN,
    'key.txt': API_KEY,
    'request.json': '{"batch":[{"text":"hello"}]}',
    // Stand-ins for the reader's own scripts: each calls an API with the token it was given.
    'deploy.sh':
      '#!/bin/sh\ncurl -sf -H "Authorization: Bearer $LUCIDWORKS_ACCESS_TOKEN" -d @request.json https://my-app.applications.lucidworks.com/ai/prediction/passthrough/llama-3-8b\n',
    'sync-models.sh':
      '#!/bin/sh\ncurl -sf -H "Authorization: Bearer $LUCIDWORKS_ACCESS_TOKEN" "https://api.lucidworks.com/customers/$LUCIDWORKS_CUSTOMER_ID/ai/models"\n',
    // Quoted: in a curlrc, `:` is also a separator between an option and its value.
    '.curlrc': `connect-to = "::127.0.0.1:${(front.address() as AddressInfo).port}"\ninsecure\n`,
  }
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body)
  files['gen-report.sh'] = files['deploy.sh'] as string
  writeFileSync(join(dir, 'gen-report.sh'), files['gen-report.sh'] as string)
  for (const s of ['deploy.sh', 'sync-models.sh', 'gen-report.sh']) chmodSync(join(dir, s), 0o755)
  const env = baseEnv({
    PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
    HOME: dir,
    CURL_HOME: dir,
    AUTHCTL_CONFIG_DIR: join(dir, 'config'),
    GITHUB_ENV: join(dir, 'github-env'),
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'doc test',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    AUTHCTL_LUPASEARCH_API_URL: `${lupa.url}/v1`,
    AUTHCTL_HAUT_API_URL: `${haut.url}/api/v1`,
    AUTHCTL_INSTABASE_API_URL: `${ib.url}/api`,
    AUTHCTL_LUCID_API_URL: lucid.url,
  })
  if (template) {
    // Without the cached tokens: Lucidworks kills a client's token when another run issues one.
    cpSync(template, join(dir, 'config'), { recursive: true, filter: (p) => !p.startsWith(join(template as string, 'cache')) })
    return { dir, env }
  }
  seedFileStore(env) // the examples run through bash, not runCli
  // Every provider logged in, as the examples that only use a login assume.
  for (const login of [
    'authctl login lucidworks --client-id 0oa1b2c3 --client-secret-stdin --scope machinelearning.predict --scope machinelearning.model --application-id my-app --customer-id 1234 < secret.txt',
    'authctl login lupa --email you@example.com --password-stdin --org acme --project shop < password.txt',
    'authctl login haut --email lab@example.com --password-stdin < password.txt',
    'authctl login aihub --token-stdin --context acme-org < token.txt',
    'authctl login lucid --api-key-stdin < key.txt',
    'authctl --profile staging login lucidworks --client-id staging-client --client-secret-stdin < secret.txt',
  ]) {
    const r = await bash(login, dir, env)
    if (r.code !== 0) throw new Error(`sandbox: ${login}: ${r.stderr}`)
  }
  template = tempDir('docs-template-')
  cpSync(join(dir, 'config'), template, { recursive: true })
  return { dir, env }
}

function bash(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** The examples of every command's --help, found by walking the "Commands:" lists. */
async function helpExamples(): Promise<Example[]> {
  const out: Example[] = []
  const help = async (words: string[]) => (await exec(process.execPath, [BIN, ...words, '--help'])).stdout
  const visit = async (words: string[]): Promise<void> => {
    const text = await help(words)
    const where = `authctl ${[...words, '--help'].join(' ')}`
    const ex = /\nExamples:\n((?: {2}.*\n?)+)/.exec(text)?.[1] ?? ''
    for (const line of ex.split('\n')) if (line.trim()) out.push({ where, command: line.trim() })
    const cmds = /\nCommands:\n((?: {2}.*\n?)+)/.exec(text)?.[1] ?? ''
    for (const line of cmds.split('\n')) {
      const name = /^ {2}([a-z][a-z-]*)/.exec(line)?.[1]
      if (name && name !== 'help') await visit([...words, name])
    }
  }
  await visit([])
  return out
}

/** The commands of README.md's ```sh blocks, `\`-continued lines joined; `$ ` marks a transcript. */
function readmeExamples(): Example[] {
  const out: Example[] = []
  let section = ''
  const lines = README.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{2,3} (.*)/.exec(lines[i] as string)
    if (heading) section = heading[1] as string
    if (lines[i] !== '```sh') continue
    const block: string[] = []
    for (i++; i < lines.length && lines[i] !== '```'; i++) block.push(lines[i] as string)
    const transcript = block[0]?.startsWith('$ ')
    if (block[0]?.startsWith('#!')) {
      // A whole script: one example.
      out.push({ where: `README.md "${section}"`, command: block.join('\n') })
      continue
    }
    let pending = ''
    let continued = false
    for (const raw of block) {
      if (transcript && !raw.startsWith('$ ')) continue
      const line = transcript ? raw.slice(2) : raw
      if (!pending && (/^\s*#/.test(line) || !line.trim())) continue
      const loop = /^(for|while|until) /.test(pending || line)
      pending += pending ? (loop && !continued ? `\n${line}` : ` ${line.trim()}`) : line
      continued = pending.endsWith('\\')
      if (continued) {
        pending = pending.slice(0, -1).trimEnd()
        continue
      }
      // A loop runs to its `done`: one example.
      if (loop && !/^\s*done\b/m.test(pending)) continue
      out.push({ where: `README.md "${section}"`, command: pending })
      pending = ''
    }
  }
  return out
}

/** Read once, at collection: the examples of every help page, as the built CLI prints them. */
const HELP = await helpExamples()

const reasonFor = (command: string) => NOT_OFFLINE.find(([re]) => re.test(command))?.[1]

/** Runs one document's examples in order in one sandbox; each must exit 0, and API calls must carry a valid token. */
async function runExamples(examples: Example[]): Promise<string[]> {
  const ran: string[] = []
  if (examples.every((ex) => reasonFor(ex.command))) return ran
  const { dir, env } = await sandbox()
  for (const ex of examples) {
    if (reasonFor(ex.command)) continue
    seed() // the key ids the examples name exist for each one (an earlier example may revoke them)
    const before = seen.length
    const r = await bash(ex.command, dir, env)
    expect(r.code, `${ex.where}: ${ex.command}\n${r.stderr}`).toBe(0)
    expect(r.stderr, ex.command).not.toMatch(/\n\s+at |unexpected error/)
    if (/\bcurl\b|\.\/[a-z-]+\.sh\b/.test(ex.command)) {
      const calls = seen.slice(before)
      expect(calls.length, `${ex.command}: no request reached a provider`).toBeGreaterThan(0)
      for (const c of calls) {
        expect(c.credential, `${ex.command}: ${c.host} got no token`).not.toBe('')
        expect(c.status, `${ex.command}: ${c.host} ${c.request} answered ${c.status}`).toBeGreaterThanOrEqual(200)
        expect(c.status).toBeLessThan(300)
      }
    }
    ran.push(ex.command)
  }
  return ran
}

/** One help page's or README section's examples: each offline one runs; the others are named with their reason. */
async function runGroup(groups: Map<string, Example[]>, where: string): Promise<void> {
  const examples = groups.get(where) as Example[]
  const ran = await runExamples(examples)
  const skipped = examples.filter((e) => reasonFor(e.command))
  if (skipped.length) console.log(`${where}: not offline: ${skipped.map((e) => `${e.command} (${reasonFor(e.command)})`).join('; ')}`)
  expect(ran.length + skipped.length).toBe(examples.length)
}

describe('doc test: the examples in --help and README.md run against the emulators', () => {
  it('finds the examples of every --help page', () => {
    expect(HELP.length).toBeGreaterThan(20)
    expect(HELP.some((e) => e.command.includes("exec -- sh -c 'curl"))).toBe(true)
  })

  // One sandbox per help page and per README section, as a reader follows one at a time.
  const byPage = new Map<string, Example[]>()
  for (const ex of HELP) byPage.set(ex.where, [...(byPage.get(ex.where) ?? []), ex])
  it.each([...byPage.keys()])('%s: every offline example runs; its API calls carry a token the server accepts', (where) => runGroup(byPage, where), 120_000)

  const bySection = new Map<string, Example[]>()
  for (const ex of readmeExamples()) bySection.set(ex.where, [...(bySection.get(ex.where) ?? []), ex])
  it.each([...bySection.keys()])('%s', (where) => runGroup(bySection, where), 240_000)

  it('covers the README: most examples run, and every reason to skip one is still used', async () => {
    const all = [...readmeExamples(), ...HELP]
    const ran = all.filter((e) => !reasonFor(e.command))
    expect(ran.length).toBeGreaterThan(50)
    for (const [re, why] of NOT_OFFLINE)
      expect(
        all.some((e) => re.test(e.command)),
        `unused skip reason: ${why}`,
      ).toBe(true)
  })

  it('README and help never suggest an unpinned npx authctl, and pin the current version', async () => {
    const help = HELP.map((e) => e.command).join('\n')
    // What the reader copies: fenced blocks (prose may warn against `npx authctl`).
    const blocks = [...README.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].map((m) => m[1]).join('\n')
    for (const text of [blocks, help]) {
      expect(text).not.toMatch(/npx (-y )?authctl(?!@)/)
      expect(text).not.toMatch(/npm i(nstall)? (-g )?authctl(?!@)/)
    }
    for (const m of README.matchAll(/authctl@(\d+\.\d+\.\d+)|authctl-(\d+\.\d+\.\d+)\.tgz/g)) expect(m[1] ?? m[2]).toBe(VERSION)
  })

  it('README links and paths name only files that exist', () => {
    const paths = new Set<string>()
    for (const m of README.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) if (!/^https?:/.test(m[1] as string)) paths.add(m[1] as string)
    // Paths of this repository (a path in another project, e.g. the Actions runner's src/Runner.Worker, is not ours).
    for (const m of README.matchAll(/`((?:test|src|scripts|bin|completions|\.ci)\/[^`*<> ]*)`/g))
      if (!/^src\/[A-Z]/.test(m[1] as string)) paths.add(m[1] as string)
    for (const m of README.matchAll(/\b([A-Z]+\.md)\b/g)) paths.add(m[1] as string)
    expect(paths.size).toBeGreaterThan(3)
    for (const p of paths) expect(existsSync(join(ROOT, p)), `README names ${p}`).toBe(true)
  })
})
