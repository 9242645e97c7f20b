import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isStale, withFileLock } from '../../../src/kernel/lock.js'
import { tempDir } from '../../helpers/tmp.js'

describe('withFileLock', () => {
  it('serialises critical sections (no two run at once)', async () => {
    const path = join(tempDir('lock-'), 'locks', 'x.lock')
    let inside = 0
    let maxInside = 0
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withFileLock(path, async () => {
          inside++
          maxInside = Math.max(maxInside, inside)
          await new Promise((r) => setTimeout(r, 5))
          inside--
        }),
      ),
    )
    expect(maxInside).toBe(1)
    expect(existsSync(path)).toBe(false)
  })

  it('takes over a lock left by a dead process at once', async () => {
    const path = join(tempDir('lock-'), 'x.lock')
    const child = spawn(process.execPath, ['-e', '0'])
    await new Promise((r) => child.on('exit', r))
    writeFileSync(path, JSON.stringify({ pid: child.pid, host: hostname(), nonce: 'dead' }))
    expect(isStale(path, 30_000)).toBe(true)
    const t0 = Date.now()
    expect(await withFileLock(path, async () => 'ran')).toBe('ran')
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('does not take over a live holder, and times out waiting with a hint', async () => {
    const path = join(tempDir('lock-'), 'x.lock')
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'live' }))
    expect(isStale(path, 30_000)).toBe(false)
    await expect(withFileLock(path, async () => 'ran', { timeoutMs: 200 })).rejects.toThrow(/lock held by pid \d+ on /)
    expect(existsSync(path)).toBe(true)
  })

  it('releases the lock when the critical section throws', async () => {
    const path = join(tempDir('lock-'), 'x.lock')
    await expect(withFileLock(path, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(existsSync(path)).toBe(false)
  })
})
