// `npm run bench:lib`: what the library costs a Node program. Import time (whole process vs
// `node -e 0`, and in-process), and getToken served from the cache: the first call in a process
// (opens the store: scrypt for the file store, a D-Bus round trip for the keychain) and the
// median of the next 100. NODE_EXTRA_CA_CERTS is unset for every child (see scripts/bench.mjs).
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const kit = require('../dist-dev/bench-kit.cjs')
const RUNS = Number(process.env.BENCH_RUNS || 15)
const LIB_CJS = require.resolve('../dist/lib.cjs')
const LIB_MJS = new URL('../dist/lib.mjs', import.meta.url).href
const HEAVY = /[\\/]node_modules[\\/](undici|@inquirer|chalk|ioredis)[\\/]|[\\/]dist[\\/](prompts|chalk|undici)\.cjs$/

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
function wall(args, env) {
  const t = []
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now()
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    t.push(performance.now() - s)
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  }
  return median(t)
}
/** Runs `code` in a fresh process (async, so the emulator in this one can answer) and parses its JSON line. */
async function inChild(code, env, type = 'commonjs') {
  const { spawn } = await import('node:child_process')
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [`--input-type=${type}`, '-e', code], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (d) => (out += d))
    c.on('close', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${status}`))))
  })
}

// CPU time (process.cpuUsage) beside wall time: on a loaded machine it is the steadier figure.
const cpuMs = 'const cpu=()=>{const u=process.cpuUsage();return (u.user+u.system)/1000}'
const importInProcess = (kind) =>
  `${cpuMs};const c=cpu(),t=performance.now();${kind === 'cjs' ? `require(${JSON.stringify(LIB_CJS)})` : `await import(${JSON.stringify(LIB_MJS)})`};console.log(JSON.stringify({wall:performance.now()-t,cpu:cpu()-c}))`

const cachedCalls = `${cpuMs}
const lib = require(${JSON.stringify(LIB_CJS)})
;(async () => {
  let s = performance.now(); await lib.getToken('lucidworks'); const first = performance.now() - s
  const xs = [], cs = []
  for (let i = 0; i < 100; i++) { s = performance.now(); const c = cpu(); await lib.getToken('lucidworks'); xs.push(performance.now() - s); cs.push(cpu() - c) }
  xs.sort((a, b) => a - b); cs.sort((a, b) => a - b)
  const heavy = Object.keys(require.cache).filter((k) => ${HEAVY}.test(k))
  console.log(JSON.stringify({ first, median: xs[50], p90: xs[90], cpu: cs[50], heavy }))
})()`

const env0 = kit.baseEnv({})
delete env0.NODE_EXTRA_CA_CERTS
const rows = []
const floor = wall(['-e', '0'], env0)
const row = (name, ms, note = '') => rows.push({ name, ms, note })

const ratio = (ms) => `${(ms / floor).toFixed(2)}x node -e 0 (${(ms - floor).toFixed(1)} ms over it)`
const wholeCjs = wall(['-e', `require(${JSON.stringify(LIB_CJS)})`], env0)
row("require('authctl'), whole process", wholeCjs, ratio(wholeCjs))
const esmFloor = wall(['--input-type=module', '-e', "await import('data:text/javascript,')"], env0)
row('reference: ESM floor (import of an empty module)', esmFloor, ratio(esmFloor))
const wholeEsm = wall(['--input-type=module', '-e', `await import(${JSON.stringify(LIB_MJS)})`], env0)
row("import('authctl') (ESM), whole process", wholeEsm, ratio(wholeEsm))
for (const kind of ['cjs', 'mjs']) {
  const xs = []
  for (let i = 0; i < RUNS; i++) xs.push(await inChild(importInProcess(kind), env0, kind === 'cjs' ? 'commonjs' : 'module'))
  row(
    `${kind === 'cjs' ? 'require' : 'import'}('authctl') in-process`,
    median(xs.map((x) => x.wall)),
    `the module load alone; CPU ${median(xs.map((x) => x.cpu)).toFixed(1)} ms`,
  )
}

const lw = await kit.startLucidworks({ clients: { 'bench-client': 'bench-secret-0123456789' } })
try {
  const cases = []
  const fileEnv = {
    ...env0,
    AUTHCTL_CONFIG_DIR: kit.tempDir('bench-lib-'),
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'bench',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
  }
  await kit.runCli(['login', 'lucidworks', '--client-id', 'bench-client', '--client-secret-stdin'], { env: fileEnv, input: 'bench-secret-0123456789' })
  cases.push(['file store', fileEnv])
  const ciEnv = {
    ...env0,
    AUTHCTL_CONFIG_DIR: kit.tempDir('bench-lib-'),
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    LUCIDWORKS_CLIENT_ID: 'bench-client',
    LUCIDWORKS_CLIENT_SECRET: 'bench-secret-0123456789',
  }
  await kit.runCli(['token', 'lucidworks'], { env: ciEnv })
  cases.push(['env credentials', ciEnv])
  let ss
  if (kit.missingTools().length === 0) {
    ss = await kit.startSecretService()
    const kcEnv = {
      ...env0,
      ...ss.env,
      AUTHCTL_CONFIG_DIR: kit.tempDir('bench-lib-'),
      AUTHCTL_STORE: 'keychain',
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    }
    await kit.runCli(['login', 'lucidworks', '--client-id', 'bench-client', '--client-secret-stdin'], { env: kcEnv, input: 'bench-secret-0123456789' })
    cases.push(['keychain', kcEnv])
  }
  try {
    const before = lw.tokenRequests()
    for (const [name, env] of cases) {
      const r = await inChild(cachedCalls, env)
      row(`getToken, cached, ${name}: first call`, r.first, 'opens the store')
      row(`getToken, cached, ${name}: calls 2-101`, r.median, `p90 ${r.p90.toFixed(2)} ms; CPU ${r.cpu.toFixed(2)} ms; heavy modules loaded: ${r.heavy.length}`)
    }
    if (lw.tokenRequests() !== before) throw new Error('a cached getToken made a token request')
  } finally {
    await ss?.stop()
  }
} finally {
  await lw.close()
  kit.removeTempDirs() // the config dirs above, and the Redis and keyring helpers' dirs
}

const version = spawnSync(process.execPath, ['--version'], { encoding: 'utf8' }).stdout.trim()
console.log(`authctl library, ${version}; median of ${RUNS} runs; floor \`node -e 0\` = ${floor.toFixed(1)} ms`)
console.log('| measurement | ms | note |')
console.log('|---|---|---|')
for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(r.ms < 10 ? 2 : 1)} | ${r.note} |`)
