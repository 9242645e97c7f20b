import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Emulator } from '../emulators/_server.js'
import { baseEnv, runCli, type CliResult } from '../helpers/cli.js'
import { CANARY, PROVIDER_CASES } from '../helpers/providers.js'
import { startRedis, type RedisServer } from '../helpers/redis.js'
import { tempDir } from '../helpers/tmp.js'

/** Login secrets, plus what unlocks the store and the shared cache (passphrase, cache URL, fleet key). */
const VAULT_KEYS = [CANARY.passphrase, CANARY.redisPassword, CANARY.fleetKey]
const LOGIN_SECRETS = [...PROVIDER_CASES.flatMap((c) => c.loginSecrets), ...VAULT_KEYS]
const USER_TOKENS = PROVIDER_CASES.flatMap((c) => c.userTokens)

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
}

/** Runs the tasks, at most `limit` at a time. */
async function inBatches<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = []
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++
      results[i] = await (tasks[i] as () => Promise<T>)()
    }
  }
  await Promise.all(Array.from({ length: limit }, worker))
  return results
}

describe('canary secrets never leak', () => {
  const emus: Emulator[] = []
  let redis: RedisServer
  let env: NodeJS.ProcessEnv
  let root: string
  const outputs: Array<{ argv: string[]; r: CliResult }> = []
  let argvLog: string

  beforeAll(async () => {
    root = tempDir('canary-')
    const tmp = join(root, 'tmp')
    const bin = join(root, 'bin')
    for (const d of [tmp, bin]) require('node:fs').mkdirSync(d)
    argvLog = join(root, 'argv.log')
    // A child that records its own argv (exec's children, the "browser").
    const recorder = join(bin, 'record-argv')
    writeFileSync(
      recorder,
      `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(argvLog)}, JSON.stringify(process.argv) + '\\n')\nif (/^http/.test(process.argv[2] || '')) fetch(process.argv[2]).catch(() => {})\n`,
    )
    chmodSync(recorder, 0o755)
    const overrides: Record<string, string> = {}
    for (const c of PROVIDER_CASES) {
      const e = await c.start()
      emus.push(e)
      Object.assign(overrides, c.env(e))
    }
    redis = await startRedis({ password: CANARY.redisPassword })
    env = baseEnv({
      AUTHCTL_CONFIG_DIR: join(root, 'config'),
      AUTHCTL_STORE: 'file',
      AUTHCTL_PASSPHRASE: CANARY.passphrase,
      AUTHCTL_CACHE: redis.url,
      AUTHCTL_CACHE_KEY: CANARY.fleetKey,
      TMPDIR: tmp,
      BROWSER: recorder,
      ...overrides,
    })
    for (const [i, c] of PROVIDER_CASES.entries()) await c.login(env, emus[i] as Emulator)
  }, 60_000)
  afterAll(async () => {
    await Promise.all(emus.map((e) => e.close()))
    await redis?.stop()
  })

  const run = async (argv: string[], input?: string) => {
    const r = await runCli(argv, { env, input })
    outputs.push({ argv, r })
    return r
  }

  it('every command, with --verbose, errors and --help', { timeout: 420_000 }, async () => {
    const ids = PROVIDER_CASES.map((c) => c.id)
    // The providers' sequences run side by side (each in its own order): they share only the
    // file store, which takes a lock for every write.
    await Promise.all(
      ids.map(async (id) => {
        // `token` runs on the light path without --verbose and on the full CLI with it. The output
        // formats run on the light path only: both paths print them with one function (runToken in
        // src/cli/commands/token.ts; lucidworks.test compares their output), and --verbose adds the
        // same lines whatever the format.
        for (const format of ['json', 'header', 'env']) await run(['token', id, '--format', format])
        for (const extra of [[], ['--verbose']]) {
          await run([...extra, 'token', id])
          await run([...extra, 'token', id, '--force-refresh'])
          await run([...extra, 'token', id, '--scope', 'no-such-scope', '--force-refresh'])
        }
        // These run on the full CLI either way, where --verbose only adds lines.
        for (const argv of [
          ['whoami', id, '--json'],
          ['keys', 'list', id],
        ])
          await run(['--verbose', ...argv])
      }),
    )
    const port = String(20000 + (process.pid % 20000))
    const [browserLogin] = await Promise.all([
      run(
        ['--verbose', '--profile', 'browser', 'login', 'lucid', '--client-id', 'lucid-canary', '--client-secret-stdin', '--port', port],
        `${CANARY.lucidSecret}\n`,
      ),
      inBatches(4, [
        () => run(['keys', 'create', 'haut', '--name', 'canary', '--json']),
        () => run(['keys', 'create', 'lupasearch', '--description', 'canary', '--save']),
        () => run(['--verbose', 'status', '--json']),
        () => run(['status']),
        () => run(['--verbose', 'doctor', '--json']),
        () => run(['exec', '--', join(root, 'bin', 'record-argv'), 'arg1']),
        () => run(['exec', '--mask', '--', process.execPath, '-e', 'console.log(JSON.stringify(process.env))']),
        // Without --mask too: the child's environment holds no key to the vault at all.
        () =>
          run([
            'exec',
            '--',
            process.execPath,
            '-e',
            'console.log(JSON.stringify(Object.entries(process.env).filter(([k]) => /AUTHCTL|SECRET|PASSWORD|CACHE/.test(k))))',
          ]),
        () => run(['--verbose', 'exec', '--', 'sh', '-c', 'exit 3']),
        () => run(['--verbose', 'login', 'lucid', '--client-id', 'lucid-canary', '--client-secret-stdin', '--manual'], `${CANARY.lucidSecret}\nnot-a-code\n`),
        () => run(['--verbose', 'login', 'lucidworks', '--client-id', 'lw-canary', '--client-secret-stdin'], 'wrong-secret-\n'),
        () => run(['--verbose', 'token', 'lupasearch', '--format', 'yaml']),
        () => run(['--help']),
        ...['login', 'token', 'exec', 'keys', 'status', 'doctor'].map((cmd) => () => run([cmd, '--help'])),
      ]),
    ])
    expect(browserLogin.code, browserLogin.stderr).toBe(0)
    await Promise.all([...ids.map((id) => run(['--verbose', 'logout', id])), run(['--profile', 'browser', 'logout', 'lucid'])])
    expect(readFileSync(argvLog, 'utf8')).toContain('oauth2/authorize') // the browser really ran
    expect(outputs.length).toBeGreaterThan(90)
  })

  it('no login secret or vault key anywhere: stdout, stderr, files under the config and temp dirs, child argv, Redis', async () => {
    const places: Array<[string, string]> = outputs.flatMap(({ argv, r }) => [
      [`stdout of ${argv.join(' ')}`, r.stdout],
      [`stderr of ${argv.join(' ')}`, r.stderr],
    ])
    for (const f of [...filesUnder(join(root, 'config')), ...filesUnder(join(root, 'tmp'))]) places.push([f, readFileSync(f, 'latin1')])
    places.push(['child argv', readFileSync(argvLog, 'utf8')])
    for (const k of await redis.client.keys('*'))
      places.push([`redis key ${k}`, `${k}\n${(await redis.client.type(k)) === 'string' ? await redis.client.get(k) : ''}`])
    places.push(['redis URL in the child argv log', readFileSync(argvLog, 'utf8').replace(redis.url, CANARY.redisPassword)])
    for (const secret of LOGIN_SECRETS) for (const [where, text] of places) expect(text, `${secret} leaked into ${where}`).not.toContain(secret)
  })

  it('user-supplied tokens appear only in `token` output (and exec children), never in stderr or files', () => {
    for (const t of USER_TOKENS) {
      for (const { argv, r } of outputs) {
        expect(r.stderr, `stderr of ${argv.join(' ')}`).not.toContain(t)
        if (argv.includes('token')) continue
        expect(r.stdout, `stdout of ${argv.join(' ')}`).not.toContain(t)
      }
      for (const f of filesUnder(join(root, 'config'))) expect(readFileSync(f, 'latin1'), f).not.toContain(t)
    }
    const masked = outputs.find(({ argv }) => argv.includes('--mask'))
    expect(masked?.r.stdout).toContain('***')
  })
})
