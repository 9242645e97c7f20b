// Builds the shipped CLI: a small CommonJS bundle (commander + authctl) whose heavy parts are
// required lazily, as PERF.md measured fastest on Node 20. The keychain binding stays
// in node_modules; the ESM-only prompt and colour libraries and the undici parts we use become
// CJS side files.
import { build } from 'esbuild'
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
}

/** Libraries bundled into CJS side files, loaded on first use (prompts and chalk are ESM-only). */
const sideFiles = { '@inquirer/prompts': './prompts.cjs', chalk: './chalk.cjs', undici: './undici.cjs' }
/** CJS packages left in node_modules, loaded on first use. */
const packages = ['@napi-rs/keyring']

/**
 * dist/undici.cjs: only the undici parts src/providers/http.ts uses (Agent, EnvHttpProxyAgent,
 * request), bundled. undici's index.js loads 110 files (fetch, WebSocket, cache, mock…); this
 * loads the 37 that Agent, the proxy agents and the request API need, in one file. `request` is
 * index.js's own makeDispatcher wrapper, taken verbatim from the installed undici at build time
 * so that the two cannot drift. The llhttp WASM modules (2 × 72 KB of base64) are copied next to
 * it as their own files, required on the first connection as undici does, so that they are not
 * read and scanned with the rest (and always match the bundled parser code).
 */
function undiciEntry() {
  const require = createRequire(import.meta.url)
  const index = readFileSync(require.resolve('undici'), 'utf8')
  const makeDispatcher = index.match(/^function makeDispatcher \(fn\) \{\n[\s\S]*?\n\}\n/m)?.[0]
  if (!makeDispatcher?.includes('getGlobalDispatcher()')) throw new Error('undici/index.js: makeDispatcher not found or changed; update scripts/build.mjs')
  return [
    `'use strict'`,
    `const Dispatcher = require('undici/lib/dispatcher/dispatcher')`,
    `const api = require('undici/lib/api')`,
    `const util = require('undici/lib/core/util')`,
    `const { InvalidArgumentError } = require('undici/lib/core/errors')`,
    `const { getGlobalDispatcher } = require('undici/lib/global')`,
    `Object.assign(Dispatcher.prototype, api)`,
    `exports.Agent = require('undici/lib/dispatcher/agent')`,
    `exports.EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent')`,
    makeDispatcher,
    `exports.request = makeDispatcher(api.request)`,
  ].join('\n')
}
/**
 * undici's HTTP/2 client, left out of dist/undici.cjs: it requires node:http2 when it loads,
 * which pulls in tls, http and the HTTP/2 core (~25 ms of every cold command's start-up on Node
 * 20). It is used only when a connection negotiates h2 by ALPN, and undici offers h2 only with
 * `allowH2`, which authctl never sets. Should that ever change, the stub fails the connection
 * with an error instead of misbehaving.
 */
const noHttp2 = {
  name: 'no-http2',
  setup(b) {
    b.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) => ({ path: args.path, namespace: 'no-http2' }))
    b.onLoad({ filter: /.*/, namespace: 'no-http2' }, () => ({
      contents: `module.exports = function connectH2 () { throw new Error('HTTP/2 is not enabled in this build of authctl') }`,
      loader: 'js',
    }))
  },
}
/**
 * commander requires node:child_process when it loads, for executable subcommands (`git-foo`
 * style), which authctl has none of: that pulls child_process, dgram and their internals into
 * every full-CLI start (~3 ms on Node 20). Inside commander it becomes a proxy that requires
 * the real module on first use, so it still works should commander ever need it.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined,
    )
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: `module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] })`,
      loader: 'js',
    }))
  },
}
const llhttpWasm = ['llhttp-wasm.js', 'llhttp_simd-wasm.js']
const llhttpExternal = {
  name: 'llhttp-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/llhttp\/llhttp(_simd)?-wasm\.js$/ }, (args) => ({
      path: `./undici-${args.path.slice('../llhttp/'.length, -3)}.cjs`,
      external: true,
    }))
  },
}

/**
 * esbuild keeps `await import('x')` for externals, and an ESM import() of CommonJS is both
 * slower on Node 20 (PERF.md: keyring 2.44x vs 1.17x) and sees no named exports of a bundled
 * side file. So each lazy external becomes a bundled shim `module.exports = require(target)`,
 * which esbuild loads lazily as `__toESM(require_shim())`.
 *
 * In the CLI bundles (cli: true) the undici shim also keeps WebAssembly on V8's baseline
 * compiler (Liftoff) on Node 20. There, parsing the first response makes V8 tier llhttp's big
 * parser function up to TurboFan in the background (~150-370 ms of CPU), and the process does
 * not exit before that compile ends: a one-request `authctl token` spent about half its time
 * waiting for it. Node 22+ drop the job at exit. Liftoff code parses a token response just as
 * fast. The library (cli: false) leaves the host process's V8 flags alone.
 */
const lazyRequirePlugin = ({ cli }) => ({
  name: 'lazy-require',
  setup(b) {
    const names = [...Object.keys(sideFiles), ...packages]
    const filter = new RegExp(`^(${names.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`)
    b.onResolve({ filter }, (args) =>
      args.namespace === 'lazy-require' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-require' },
    )
    b.onResolve({ filter: /^\.\/(prompts|chalk|undici)\.cjs$/, namespace: 'lazy-require' }, (args) => ({ path: args.path, external: true }))
    b.onLoad({ filter: /.*/, namespace: 'lazy-require' }, (args) => ({
      contents:
        (cli && args.path === 'undici' ? `if (Number(process.versions.node.split('.')[0]) < 22) require('v8').setFlagsFromString('--liftoff-only')\n` : '') +
        `module.exports = require(${JSON.stringify(sideFiles[args.path] ?? args.path)})`,
      loader: 'js',
    }))
  },
})

// dist/ is what the package ships (package.json "files"); dev-only bundles go to dist-dev/.
for (const dir of ['../dist', '../dist-dev']) rmSync(new URL(dir, import.meta.url), { recursive: true, force: true })
await Promise.all([
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/authctl.cjs',
    plugins: [lazyRequirePlugin({ cli: true }), lazyChildProcessForCommander],
    define: { __AUTHCTL_VERSION__: JSON.stringify(pkg.version) },
  }),
  // The start-up fast path: no commander; falls back to dist/authctl.cjs (see src/cli/fast.ts).
  build({
    ...common,
    entryPoints: ['src/cli/fast.ts'],
    outfile: 'dist/fast.cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [lazyRequirePlugin({ cli: true })],
    define: { __AUTHCTL_VERSION__: JSON.stringify(pkg.version) },
  }),
  ...Object.entries(sideFiles).map(([mod, file]) =>
    mod === 'undici'
      ? build({
          ...common,
          stdin: { contents: undiciEntry(), resolveDir: '.', sourcefile: 'undici-entry.cjs' },
          outfile: 'dist/undici.cjs',
          minifyWhitespace: true,
          minifySyntax: true,
          plugins: [llhttpExternal, noHttp2],
        })
      : build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(mod)})`, resolveDir: '.' }, outfile: `dist/${file.slice(2)}` }),
  ),
  // The library (`import … from 'authctl'`): a CJS bundle with the same lazy parts as the CLI;
  // the ESM entry re-exports it, so both share one module instance (one AuthctlError class).
  build({
    ...common,
    entryPoints: ['src/lib/index.ts'],
    outfile: 'dist/lib.cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [lazyRequirePlugin({ cli: false })],
  }),
  build({ ...common, entryPoints: ['scripts/demo.ts'], outfile: 'dist-dev/demo.cjs', external: ['undici', '@napi-rs/keyring'] }),
  build({ ...common, entryPoints: ['scripts/bench-entry.ts'], outfile: 'dist-dev/bench-kit.cjs' }),
])

const libExports = ['getToken', 'getHeaders', 'getEnv', 'AuthctlError', 'ExitCode']
// createRequire, not `import lib from './lib.cjs'`: Node's ESM loader would first scan the CJS
// bundle for export names (PERF.md: an ESM import of CJS costs 20-50 ms more on Node 20).
writeFileSync(
  'dist/lib.mjs',
  `import { createRequire } from 'node:module'\nconst lib = createRequire(import.meta.url)('./lib.cjs')\n${libExports.map((n) => `export const ${n} = lib.${n}\n`).join('')}`,
)
for (const ext of ['cts', 'mts']) copyFileSync('src/lib/public.d.ts', `dist/lib.d.${ext}`)
const undiciDir = dirname(createRequire(import.meta.url).resolve('undici'))
for (const f of llhttpWasm) copyFileSync(join(undiciDir, 'lib', 'llhttp', f), `dist/undici-${f.slice(0, -3)}.cjs`)
