// Builds the shipped CLI: a small CommonJS bundle (commander + authctl) whose heavy parts are
// required lazily, as PERF.md measured fastest on Node 20. undici and the keychain binding stay
// in node_modules; the ESM-only prompt and colour libraries become CJS side files.
import { build } from 'esbuild'
import { readFileSync, rmSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
}

/** Lazily loaded side bundles: `import('x')` in src becomes `require('./x.cjs')` at run time. */
const sideFiles = { '@inquirer/prompts': 'prompts.cjs', chalk: 'chalk.cjs' }
const lazySidePlugin = {
  name: 'lazy-side-files',
  setup(b) {
    b.onResolve({ filter: /^(@inquirer\/prompts|chalk)$/ }, (args) => ({ path: `./${sideFiles[args.path]}`, external: true }))
  },
}

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await Promise.all([
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: 'dist/authctl.cjs',
    external: ['undici', '@napi-rs/keyring'],
    plugins: [lazySidePlugin],
    define: { __AUTHCTL_VERSION__: JSON.stringify(pkg.version) },
  }),
  ...Object.entries(sideFiles).map(([mod, file]) =>
    build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(mod)})`, resolveDir: '.' }, outfile: `dist/${file}` }),
  ),
  build({ ...common, entryPoints: ['scripts/demo.ts'], outfile: 'dist/demo.cjs', external: ['undici', '@napi-rs/keyring'] }),
])
