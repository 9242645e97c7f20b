import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SecretStoreError } from '../../../src/kernel/errors.js'
import { createFileStore, emptyStoreFile, SCRYPT } from '../../../src/store/file.js'
import { tempDir } from '../../helpers/tmp.js'

const open = (dir: string, pass: string) => {
  let asked = 0
  const store = createFileStore({
    dir,
    passphrase: async () => {
      asked++
      return pass
    },
  })
  return { store, asked: () => asked }
}

describe('file store', () => {
  it('round-trips, is 0600, holds no clear text, and asks for the passphrase once per process', async () => {
    const dir = tempDir('fs-')
    const { store, asked } = open(dir, 'correct horse')
    await store.set('lucidworks:default', '{"clientSecret":"very-secret-value"}')
    await store.set('lucidworks:ci', 'second')
    expect(await store.get('lucidworks:default')).toBe('{"clientSecret":"very-secret-value"}')
    expect(asked()).toBe(1)
    const file = join(dir, 'secrets.enc')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).not.toContain('very-secret-value')
    expect(await store.delete('lucidworks:ci')).toBe(true)
    expect(await store.delete('lucidworks:ci')).toBe(false)
    expect(await open(dir, 'correct horse').store.get('lucidworks:default')).toContain('very-secret-value')
  })

  it('a wrong passphrase is a clear exit-6 error and changes nothing', async () => {
    const dir = tempDir('fs-')
    await open(dir, 'right').store.set('a', 'keep me')
    const before = readFileSync(join(dir, 'secrets.enc'), 'utf8')
    const wrong = open(dir, 'wrong').store
    const err = await wrong.set('b', 'x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SecretStoreError)
    expect((err as SecretStoreError).message).toMatch(/wrong passphrase/)
    expect((err as SecretStoreError).exitCode).toBe(6)
    await expect(wrong.get('a')).rejects.toThrow(/wrong passphrase/)
    expect(readFileSync(join(dir, 'secrets.enc'), 'utf8')).toBe(before)
    expect(await open(dir, 'right').store.get('a')).toBe('keep me')
  })

  it('a wrong passphrase is asked again where askAgain allows (3 tries in all); concurrent readers share each ask', async () => {
    const dir = tempDir('fs-')
    writeFileSync(join(dir, 'secrets.enc'), emptyStoreFile('right', { N: 16, r: 8, p: 1 }))
    await open(dir, 'right').store.set('a', 'keep me')
    const typed = (answers: string[]) => {
      const asked: number[] = []
      const store = createFileStore({
        dir,
        passphrase: async () => answers[asked.length] ?? 'none left',
        askAgain: (tries, max) => {
          asked.push(tries)
          return tries < max
        },
      })
      return { store, asked }
    }
    const second = typed(['wrong', 'right'])
    expect(await Promise.all([second.store.get('a'), second.store.get('a'), second.store.get('a')])).toEqual(['keep me', 'keep me', 'keep me'])
    expect(second.asked).toEqual([1])
    const never = typed(['wrong', 'wrong', 'wrong', 'right'])
    await expect(never.store.get('a')).rejects.toThrow(/wrong passphrase/)
    expect(never.asked).toEqual([1, 2])
    await expect(never.store.get('a')).rejects.toThrow(/wrong passphrase/) // no fourth try later in the run
    expect(never.asked).toEqual([1, 2])
  })

  it('keeps the scrypt cost its file records: a new file gets SCRYPT, a seeded one keeps its own through writes', async () => {
    const cost = (dir: string) => JSON.parse(readFileSync(join(dir, 'secrets.enc'), 'utf8')).kdf
    const fresh = tempDir('fs-')
    await open(fresh, 'p').store.set('a', '1')
    expect(cost(fresh)).toMatchObject(SCRYPT)
    const seeded = tempDir('fs-')
    writeFileSync(join(seeded, 'secrets.enc'), emptyStoreFile('p', { N: 1024, r: 8, p: 1 }))
    expect(await open(seeded, 'p').store.get('a')).toBeUndefined()
    await open(seeded, 'p').store.set('a', '1')
    expect(cost(seeded)).toMatchObject({ N: 1024, r: 8, p: 1 })
    expect(await open(seeded, 'p').store.get('a')).toBe('1')
    await expect(open(seeded, 'wrong').store.get('a')).rejects.toThrow(/wrong passphrase/)
  })

  it('keeps every item under concurrent writers', async () => {
    const dir = tempDir('fs-')
    const { store } = open(dir, 'p')
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.set(`k${i}`, `v${i}`)))
    for (let i = 0; i < 10; i++) expect(await store.get(`k${i}`)).toBe(`v${i}`)
  })
})
