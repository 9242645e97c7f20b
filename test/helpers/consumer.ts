import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from './tmp.js'

const exec = promisify(execFile)
export const REPO = resolve(__dirname, '../..')

/** npm's own variables (set by `npm test`) would point a nested npm at this repository. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS') env[k] = v
  return env
}

interface LockEntry {
  dev?: boolean
  [k: string]: unknown
}

/**
 * A project outside the repository that installs the packed tarball, as a user would, with no
 * network: `npm ci --offline` from a lockfile whose dependency entries are the repository's
 * own (so only tarballs already in the npm cache are needed, no registry metadata).
 * Returns the project directory; the package is at node_modules/authctl.
 */
export async function installPackedTarball(): Promise<string> {
  const dir = tempDir('authctl-consumer-')
  // --ignore-scripts: a prepack build would rebuild dist/ under the other test files' feet.
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: REPO, env: npmEnv() })
  const tgz = stdout.trim().split('\n').pop() as string
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>
  const repoLock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  const integrity = `sha512-${createHash('sha512')
    .update(readFileSync(join(dir, tgz)))
    .digest('base64')}`
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { authctl: `file:${tgz}` } },
    'node_modules/authctl': { version: pkg.version, resolved: `file:${tgz}`, integrity, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  }
  for (const [k, v] of Object.entries(repoLock.packages)) if (k.startsWith('node_modules/') && !v.dev) packages[k] = v
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { authctl: `file:${tgz}` } }))
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }))
  await exec('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env: npmEnv(), timeout: 120_000 })
  return dir
}

/** Runs the repository's TypeScript compiler on a project (type tests of the shipped .d.ts). */
export function tsc(project: string): Promise<{ stdout: string }> {
  return exec(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', project], { env: npmEnv() })
}
