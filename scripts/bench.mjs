// `npm run bench`: start-up cost of the CLI as ratios to `node -e 0` measured in the same run:
// every run of a command is paired with a `node -e 0` run just before it, and a row's ratio is
// the median of its per-pair ratios, so load that comes and goes during the run cancels out
// (medians of RUNS runs each). BENCH_BIN benches another build (e.g. an older checkout's
// bin/authctl.js) with the same harness. NODE_EXTRA_CA_CERTS is unset for every child: Node 20 parses
// that file at every start (PERF.md), which would swamp what is measured here.
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { cpus, loadavg } from 'node:os'

const require = createRequire(import.meta.url)
const kit = require('../dist-dev/bench-kit.cjs')
const RUNS = Number(process.env.BENCH_RUNS || 15)
const NODE = process.env.BENCH_NODE || process.execPath

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function once(args, env) {
  const s = performance.now()
  const r = spawnSync(NODE, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return performance.now() - s
}
/** Median ms of a command, and the median of its ratios to a `node -e 0` run just before each run. */
function timeSync(args, env) {
  const t = []
  const ratios = []
  for (let i = 0; i < RUNS; i++) {
    const f = once(['-e', '0'], env0)
    const ms = once(args, env)
    t.push(ms)
    ratios.push(ms / f)
  }
  return { ms: median(t), ratio: median(ratios) }
}
function timeAsync(args, env) {
  const s = performance.now()
  return new Promise((resolve, reject) => {
    const c = spawn(NODE, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    c.stdout.on('data', (d) => (out += d))
    c.on('error', reject)
    c.on('close', (code) => (code === 0 ? resolve({ ms: performance.now() - s, out }) : reject(new Error(`${args.join(' ')} exited ${code}`))))
  })
}

const env0 = kit.baseEnv({})
delete env0.NODE_EXTRA_CA_CERTS
const rows = []
const bin = process.env.BENCH_BIN || kit.BIN
const floor = timeSync(['-e', '0'], env0).ms
const row = (name, m, extra = '') => rows.push({ name, ms: m.ms, ratio: m.ratio ?? m.ms / floor, extra })

/** `authctl ARGS` of the build under test (stdin: `input`); the emulator lives in this process, so async. */
function cli(args, { env, input }) {
  return new Promise((resolve, reject) => {
    const c = spawn(NODE, [bin, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] })
    let err = ''
    c.stderr.on('data', (d) => {
      err += d
    })
    c.on('error', reject)
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))))
    c.stdin.end(input ?? '')
  })
}

const lw = await kit.startLucidworks({ clients: { 'bench-client': 'bench-secret-0123456789' } })
try {
  row('--version', timeSync([bin, '--version'], env0))

  // file store, cached token
  const fileEnv = {
    ...env0,
    AUTHCTL_CONFIG_DIR: kit.tempDir('bench-'),
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'bench',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
  }
  await cli(['login', 'lucidworks', '--client-id', 'bench-client', '--client-secret-stdin'], { env: fileEnv, input: 'bench-secret-0123456789' })
  row('token, cached, file store', timeSync([bin, 'token', 'lucidworks'], fileEnv))
  row('exec -- true, cached, file store', timeSync([bin, 'exec', '--', 'true'], fileEnv))

  // env credentials (CI), cached
  const ciEnv = {
    ...env0,
    AUTHCTL_CONFIG_DIR: kit.tempDir('bench-'),
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    LUCIDWORKS_CLIENT_ID: 'bench-client',
    LUCIDWORKS_CLIENT_SECRET: 'bench-secret-0123456789',
  }
  await cli(['token', 'lucidworks'], { env: ciEnv })
  row('token, cached, env credentials', timeSync([bin, 'token', 'lucidworks'], ciEnv))

  // env credentials with the fleet cache (a real redis-server): every call asks Redis
  if (kit.hasRedisServer()) {
    const redis = await kit.startRedis({ password: 'bench-redis-password' })
    try {
      const fleetEnv = {
        ...ciEnv,
        AUTHCTL_CONFIG_DIR: kit.tempDir('bench-'),
        AUTHCTL_CACHE: redis.url,
        AUTHCTL_CACHE_KEY: 'bench-fleet-key-0123456789abcdefghijkl',
      }
      await cli(['token', 'lucidworks'], { env: fleetEnv })
      row('token, cached, env credentials + fleet cache (Redis)', timeSync([bin, 'token', 'lucidworks'], fleetEnv), 'one GET to Redis per call')
    } finally {
      await redis.stop()
    }
  } else {
    rows.push({ name: 'token, cached, env credentials + fleet cache (Redis)', ms: NaN, ratio: NaN, extra: 'skipped: redis-server missing' })
  }

  // keychain, cached
  if (kit.missingTools().length === 0) {
    const ss = await kit.startSecretService()
    try {
      const kcEnv = {
        ...env0,
        ...ss.env,
        AUTHCTL_CONFIG_DIR: kit.tempDir('bench-'),
        AUTHCTL_STORE: 'keychain',
        AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      }
      await cli(['login', 'lucidworks', '--client-id', 'bench-client', '--client-secret-stdin'], { env: kcEnv, input: 'bench-secret-0123456789' })
      row('token, cached, keychain', timeSync([bin, 'token', 'lucidworks'], kcEnv))
      // The floor of any keychain read: the binding alone, one getPassword over D-Bus.
      const bare = `const {AsyncEntry}=require(${JSON.stringify(require.resolve('@napi-rs/keyring'))});new AsyncEntry('authctl','lucidworks:default',{linux:{store:'secret-service'}}).getPassword().then(()=>{})`
      row('reference: bare keyring read, no authctl', timeSync(['-e', bare], kcEnv), 'the D-Bus round trip every keychain token pays')
      row('exec -- true, cached, keychain', timeSync([bin, 'exec', '--', 'true'], kcEnv))
    } finally {
      await ss.stop()
    }
  } else {
    rows.push({ name: 'token, cached, keychain', ms: NaN, ratio: NaN, extra: `skipped: ${kit.missingTools().join(', ')} missing` })
  }

  // one cold token (a request to the loopback emulator), async so the emulator can answer
  const cold = []
  const coldRatios = []
  for (let i = 0; i < Math.min(RUNS, 9); i++) {
    const f = (await timeAsync(['-e', '0'], env0)).ms
    const ms = (await timeAsync([bin, 'token', 'lucidworks', '--force-refresh'], fileEnv)).ms
    cold.push(ms)
    coldRatios.push(ms / f)
  }
  row('token, cold (one request)', { ms: median(cold), ratio: median(coldRatios) })

  // 12 parallel cold calls with env credentials and an empty cache
  const parEnv = { ...ciEnv, AUTHCTL_CONFIG_DIR: kit.tempDir('bench-') }
  const before = lw.tokenRequests()
  const s = performance.now()
  const outs = await Promise.all(Array.from({ length: 12 }, () => timeAsync([bin, 'token', 'lucidworks'], parEnv)))
  const wall = performance.now() - s
  row(
    '12 parallel cold token (wall)',
    { ms: wall },
    `${lw.tokenRequests() - before} token request(s), ${new Set(outs.map((o) => o.out)).size} distinct token(s)`,
  )
} finally {
  await lw.close()
  kit.removeTempDirs() // the config dirs above, and the Redis and keyring helpers' dirs
}

const version = spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(
  `authctl start-up (${bin}), ${version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; median of ${RUNS} paired runs; floor \`node -e 0\` = ${floor.toFixed(1)} ms; load ${loadavg()[0].toFixed(1)}`,
)
console.log('| measurement | ms | ratio to node -e 0 | note |')
console.log('|---|---|---|---|')
for (const r of rows)
  console.log(`| ${r.name} | ${Number.isNaN(r.ms) ? '-' : r.ms.toFixed(1)} | ${Number.isNaN(r.ratio) ? '-' : r.ratio.toFixed(2)} | ${r.extra} |`)
