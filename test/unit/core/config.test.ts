import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigStore, type ProfileRecord } from '../../../src/kernel/config.js'
import { UsageError } from '../../../src/kernel/errors.js'
import { tempDir } from '../../helpers/tmp.js'

const rec = (profile: string): ProfileRecord => ({
  provider: 'lucidworks',
  profile,
  kind: 'client-credentials',
  store: 'file',
  data: { clientId: 'c' },
  createdAt: 'x',
  updatedAt: 'x',
})

describe('ConfigStore', () => {
  it('creates a 0700 dir and a 0600 file, and round-trips profiles', async () => {
    const dir = join(tempDir('cfg-'), 'authctl')
    const c = new ConfigStore(dir)
    expect(c.list()).toEqual([])
    await c.put(rec('b'))
    await c.put(rec('a'))
    expect(c.list().map((r) => r.profile)).toEqual(['a', 'b'])
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(c.file).mode & 0o777).toBe(0o600)
    expect(await c.remove({ provider: 'lucidworks', profile: 'a' })).toBe(true)
    expect(await c.remove({ provider: 'lucidworks', profile: 'a' })).toBe(false)
  })

  it('sweeps temp files left by a writer that died mid-write, and keeps live ones', async () => {
    const dir = tempDir('cfg-')
    const c = new ConfigStore(dir)
    const dead = spawn(process.execPath, ['-e', '0'])
    await new Promise((r) => dead.on('exit', r))
    writeFileSync(join(dir, `config.json.${dead.pid}.0a1b2c3d.tmp`), '{"half":')
    writeFileSync(join(dir, `config.json.${process.ppid}.0a1b2c3d.tmp`), 'a live writer')
    await c.put(rec('a'))
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([`config.json.${process.ppid}.0a1b2c3d.tmp`])
  })

  it('keeps every profile under concurrent updates', async () => {
    const c = new ConfigStore(tempDir('cfg-'))
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.put(rec(`p${i}`))))
    expect(c.list()).toHaveLength(20)
  })

  it.each([
    ['not json', '{oops'],
    ['wrong version', '{"version":9,"profiles":{}}'],
    ['bad profiles', '{"version":1,"profiles":[]}'],
    ['malformed entry', '{"version":1,"profiles":{"x":{"provider":1}}}'],
  ])('a corrupt file (%s) is an exit-2 error naming it, and is never overwritten', async (_n, text) => {
    const dir = tempDir('cfg-')
    const c = new ConfigStore(dir)
    writeFileSync(c.file, text)
    const err = (() => {
      try {
        c.load()
      } catch (e) {
        return e
      }
    })() as UsageError
    expect(err).toBeInstanceOf(UsageError)
    expect(err.exitCode).toBe(2)
    expect(err.message).toContain(c.file)
    await expect(c.put(rec('a'))).rejects.toThrow(/corrupt/)
    expect(readFileSync(c.file, 'utf8')).toBe(text)
  })
})
