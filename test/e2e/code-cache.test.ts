import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { baseEnv, runCli } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/** bin/code-cache.js: V8's compiled code of the bundles, kept in $XDG_CACHE_HOME/authctl. */
function setup(): { env: NodeJS.ProcessEnv; dir: () => string; files: () => string[] } {
  const root = tempDir('code-cache-')
  const env = baseEnv({ AUTHCTL_CONFIG_DIR: join(root, 'config'), XDG_CACHE_HOME: join(root, 'cache') })
  const dir = () => {
    const base = join(root, 'cache', 'authctl')
    return join(base, readdirSync(base)[0] as string)
  }
  return { env, dir, files: () => readdirSync(dir()).sort() }
}

const mtimes = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(join(dir, f)).mtimeMs]))

describe('the code cache', () => {
  it('is written once per bundle (0600 in a 0700 dir) and then used as it is', async () => {
    const { env, dir, files } = setup()
    const first = await runCli(['status'], { env })
    expect(first.code, first.stderr).toBe(0)
    expect(files()).toEqual([expect.stringMatching(/^authctl-[0-9a-f]{32}\.bin$/)])
    expect(dir()).toContain(`code-${process.version}-${process.arch}`)
    expect(statSync(dir()).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir(), files()[0] as string)).mode & 0o777).toBe(0o600)
    const before = mtimes(dir())
    const again = await runCli(['status'], { env })
    expect(again.stdout).toBe(first.stdout)
    // V8 took the cache: a refused one would have been written again.
    expect(mtimes(dir())).toEqual(before)
  })

  it('a damaged cache file is refused by V8, the command runs as usual, and the file is replaced', async () => {
    const { env, dir, files } = setup()
    const good = await runCli(['status'], { env })
    const file = join(dir(), files()[0] as string)
    writeFileSync(file, Buffer.alloc(statSync(file).size, 7))
    const r = await runCli(['status'], { env })
    expect([r.code, r.stdout, r.stderr]).toEqual([0, good.stdout, good.stderr])
    expect(readFileSync(file).every((b) => b === 7)).toBe(false)
  })

  it('a cache dir that others can write is neither read nor written; a bundle keeps its 3 newest builds', async () => {
    const { env, dir, files } = setup()
    await runCli(['status'], { env })
    const planted = join(dir(), files()[0] as string)
    // Three older builds' files: with this build's there are four, and the oldest goes at the next write.
    const stale = [1, 2, 3].map((i) => `authctl-${String(i).repeat(32)}.bin`)
    for (const [i, name] of stale.entries()) {
      writeFileSync(join(dir(), name), 'an older build', { mode: 0o600 })
      utimesSync(join(dir(), name), 1000 + i, 1000 + i)
    }
    chmodSync(dir(), 0o777)
    writeFileSync(planted, 'planted by someone else')
    const r = await runCli(['status'], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(planted, 'utf8')).toBe('planted by someone else')
    chmodSync(dir(), 0o700)
    await runCli(['status'], { env }) // refuses the planted file (V8), writes a good one, drops the older build's
    expect(files()).toEqual([stale[1], stale[2], planted.slice(dir().length + 1)].sort())
    expect(readFileSync(planted, 'utf8')).not.toBe('planted by someone else')
  })

  it('a relative XDG_CACHE_HOME turns it off', async () => {
    const root = tempDir('code-cache-')
    mkdirSync(join(root, 'rel'))
    const r = await runCli(['status'], { env: baseEnv({ AUTHCTL_CONFIG_DIR: join(root, 'config'), XDG_CACHE_HOME: 'rel' }), cwd: root })
    expect(r.code, r.stderr).toBe(0)
    expect(readdirSync(join(root, 'rel'))).toEqual([])
  })
})
