import { createCipheriv, createDecipheriv, randomBytes, scrypt, scryptSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SecretStoreError } from '../kernel/errors.js'
import { writeFileAtomic } from '../kernel/fsutil.js'
import { withFileLock } from '../kernel/lock.js'
import type { SecretStore } from './types.js'

/**
 * scrypt cost for the file store key: N=2^13, r=8, p=1 (8 MiB, ~19 ms on the project machine).
 * Every process that reads a secret pays it once, so it dominates a cached `token` from this
 * store; 2^14 (the scrypt paper's interactive setting) measured 37 ms here and would put a
 * cached token at ~2.9x a bare `node -e 0`. Halving N halves an attacker's cost per guess, so
 * the passphrase should be long (a generated one from a secret manager, not a word). The
 * parameters are stored in the file: raising them later needs no migration.
 */
export const SCRYPT = { N: 8192, r: 8, p: 1 } as const

export interface ScryptCost {
  N: number
  r: number
  p: number
}

interface StoreFile {
  v: 1
  kdf: { alg: 'scrypt' } & ScryptCost & { salt: string }
  iv: string
  tag: string
  ct: string
}

const scryptOptions = (c: ScryptCost) => ({ N: c.N, r: c.r, p: c.p, maxmem: 256 * c.N * c.r })

/** The KDF record of a new store file: `cost` and a random 16-byte salt. */
const newKdf = (cost: ScryptCost): StoreFile['kdf'] => ({ alg: 'scrypt', N: cost.N, r: cost.r, p: cost.p, salt: randomBytes(16).toString('base64') })

export interface FileStoreOptions {
  dir: string
  /** Supplies the passphrase (env or prompt); called once per process, and again after each wrong one `askAgain` allows. */
  passphrase(opts: { creating: boolean }): Promise<string>
  /**
   * After a wrong passphrase (the `tries`-th), whether to call `passphrase` again: a prompt may
   * (it says so), AUTHCTL_PASSPHRASE may not. At most PASSPHRASE_TRIES in all.
   */
  askAgain?(tries: number, max: number): boolean
}

/** Passphrases one run may try, as sudo and ssh-add allow three. */
export const PASSPHRASE_TRIES = 3

function deriveKey(pass: string, kdf: StoreFile['kdf']): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(pass, Buffer.from(kdf.salt, 'base64'), 32, scryptOptions(kdf), (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/** The store file as written, or undefined when there is none (unreadable or malformed: exit 6). */
function readRaw(file: string): StoreFile | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new SecretStoreError(`cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  try {
    const f = JSON.parse(text) as StoreFile
    if (f.v !== 1 || f.kdf?.alg !== 'scrypt' || typeof f.ct !== 'string') throw new Error('shape')
    return f
  } catch {
    throw new SecretStoreError(`the secret file ${file} is corrupt`, {
      hint: 'restore it from a backup, or move it away and log in again',
    })
  }
}

/** Decrypts the items; a wrong key means a wrong passphrase (exit 6, the file unchanged). */
function openItems(f: StoreFile, k: Buffer, file: string): Record<string, string> {
  try {
    const d = createDecipheriv('aes-256-gcm', k, Buffer.from(f.iv, 'base64'))
    d.setAuthTag(Buffer.from(f.tag, 'base64'))
    return JSON.parse(Buffer.concat([d.update(Buffer.from(f.ct, 'base64')), d.final()]).toString('utf8')) as Record<string, string>
  } catch {
    throw new SecretStoreError(`cannot unlock ${file}: wrong passphrase`, {
      hint: 'set AUTHCTL_PASSPHRASE to the passphrase used when the file was created; the file was not changed',
    })
  }
}

function sealItems(items: Record<string, string>, kdf: StoreFile['kdf'], k: Buffer): StoreFile {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', k, iv)
  const ct = Buffer.concat([c.update(JSON.stringify(items), 'utf8'), c.final()])
  return { v: 1, kdf, iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') }
}

/**
 * The text of a new store file that holds nothing, sealed at `cost`. A store keeps the cost its
 * file records, so the test suite seeds its stores at a lower cost than SCRYPT (one scrypt per
 * CLI process is most of a cached token's time) and the CLI runs its usual code on them.
 */
export function emptyStoreFile(pass: string, cost: ScryptCost): string {
  const kdf = newKdf(cost)
  return JSON.stringify(sealItems({}, kdf, scryptSync(pass, Buffer.from(kdf.salt, 'base64'), 32, scryptOptions(kdf))))
}

/**
 * The store's keys: the passphrase asked once (and again after a wrong one where `askAgain`
 * allows), each file's key derived once. Concurrent readers share each ask.
 */
function storeKeys(opts: FileStoreOptions, file: string) {
  let pass: Promise<string> | undefined
  const keys = new Map<string, Promise<Buffer>>()
  /** The last wrong passphrase's error, once no other may be tried. */
  let refused: unknown
  const kdfId = (kdf: StoreFile['kdf']) => `${kdf.salt}:${kdf.N}:${kdf.r}:${kdf.p}`

  function key(kdf: StoreFile['kdf'], creating: boolean): Promise<Buffer> {
    const id = kdfId(kdf)
    let k = keys.get(id)
    if (!k) {
      pass ??= opts.passphrase({ creating })
      k = pass.then((p) => deriveKey(p, kdf))
      keys.set(id, k)
    }
    return k
  }

  /** The items of `f`. */
  async function unlock(f: StoreFile): Promise<Record<string, string>> {
    for (let tries = 1; ; tries++) {
      if (refused) throw refused
      const pending = key(f.kdf, false)
      const k = await pending
      try {
        return openItems(f, k, file)
      } catch (err) {
        if (keys.get(kdfId(f.kdf)) !== pending) continue // another reader has asked again meanwhile
        if (tries >= PASSPHRASE_TRIES || !opts.askAgain?.(tries, PASSPHRASE_TRIES)) refused = err
        pass = undefined
        keys.delete(kdfId(f.kdf))
      }
    }
  }

  return {
    key,
    unlock,
    /** Asks for the passphrase of a store about to be created, before any login step. */
    async ready(): Promise<void> {
      pass ??= opts.passphrase({ creating: true })
      await pass
    },
  }
}

/**
 * Secrets in `<dir>/secrets.enc`: one AES-256-GCM blob of all items, key from scrypt over the
 * passphrase. Writes are read-modify-write under a lock and atomic, so a wrong passphrase or a
 * crash never loses what was there.
 */
export function createFileStore(opts: FileStoreOptions): SecretStore & { file: string } {
  const file = join(opts.dir, 'secrets.enc')
  const { key, unlock, ready } = storeKeys(opts, file)

  async function readItems(): Promise<{ items: Record<string, string>; kdf?: StoreFile['kdf'] }> {
    const f = readRaw(file)
    if (!f) return { items: {} }
    return { items: await unlock(f), kdf: f.kdf }
  }

  async function modify(fn: (items: Record<string, string>) => boolean): Promise<boolean> {
    return withFileLock(join(opts.dir, 'locks', 'secrets.lock'), async () => {
      const { items, kdf: existing } = await readItems()
      if (!fn(items)) return false
      const kdf = existing ?? newKdf(SCRYPT)
      writeFileAtomic(file, JSON.stringify(sealItems(items, kdf, await key(kdf, existing === undefined))))
      return true
    })
  }

  return {
    backend: 'file',
    file,
    async get(account) {
      return (await readItems()).items[account]
    },
    async set(account, value) {
      await modify((items) => {
        items[account] = value
        return true
      })
    },
    async delete(account) {
      return modify((items) => (account in items ? delete items[account] : false))
    },
    async check() {
      await readItems() // unlocks (or creates the key for) the file now, before any login step
      if (!readRaw(file)) await ready()
    },
  }
}
