import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from './errors.js'
import { ensurePrivateDir, fsError, writeFileAtomic } from './fsutil.js'
import { withFileLock } from './lock.js'
import { cleanDeep } from './sanitize.js'
import type { ProfileRef } from './profile.js'
import { refKey } from './profile.js'

/** Where a profile's secrets live. */
export type StoreBackend = 'keychain' | 'file' | 'memory'

/** The non-secret part of one login: which store holds the secret, and plain settings. */
export interface ProfileRecord {
  provider: string
  profile: string
  /** Credential kind, e.g. `client-credentials`, `password`, `api-key`, `oauth`. */
  kind: string
  store: StoreBackend
  /** Non-secret settings: client id, scopes, org, context, identity hints. Never a secret. */
  data: Record<string, unknown>
  createdAt: string
  updatedAt: string
}

export interface ConfigFile {
  version: 1
  profiles: Record<string, ProfileRecord>
}

const EMPTY: ConfigFile = { version: 1, profiles: {} }

/**
 * The profile index at `<dir>/config.json` (gh's hosts.yml split: secrets are elsewhere).
 * A corrupt file is an exit-2 error naming it, and it is never overwritten.
 */
export class ConfigStore {
  readonly file: string
  constructor(readonly dir: string) {
    this.file = join(dir, 'config.json')
  }

  load(): ConfigFile {
    let text: string
    try {
      text = readFileSync(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(EMPTY)
      throw fsError(err, this.file, 'read')
    }
    return parseConfig(text, this.file)
  }

  get(ref: ProfileRef): ProfileRecord | undefined {
    return this.load().profiles[refKey(ref)]
  }

  list(): ProfileRecord[] {
    return Object.values(this.load().profiles).sort((a, b) =>
      a.provider === b.provider ? a.profile.localeCompare(b.profile) : a.provider.localeCompare(b.provider),
    )
  }

  /** Read-modify-write under the config lock, so concurrent logins never lose a profile. */
  async update(fn: (cfg: ConfigFile) => void): Promise<void> {
    ensurePrivateDir(this.dir)
    await withFileLock(join(this.dir, 'locks', 'config.lock'), async () => {
      const cfg = this.load()
      fn(cfg)
      // Identity hints came from servers: nothing that a terminal would interpret is kept.
      writeFileAtomic(this.file, `${JSON.stringify(cleanDeep(cfg), null, 2)}\n`)
    })
  }

  async put(record: ProfileRecord): Promise<void> {
    await this.update((cfg) => {
      cfg.profiles[refKey(record)] = record
    })
  }

  async remove(ref: ProfileRef): Promise<boolean> {
    let removed = false
    await this.update((cfg) => {
      removed = refKey(ref) in cfg.profiles
      delete cfg.profiles[refKey(ref)]
    })
    return removed
  }
}

function parseConfig(text: string, file: string): ConfigFile {
  const bad = (why: string) =>
    new UsageError(`config file ${file} is corrupt: ${why}`, {
      hint: `fix it by hand or move it away (authctl will not overwrite it); secrets are not in it`,
    })
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw bad('not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not a JSON object')
  const cfg = parsed as Partial<ConfigFile>
  if (cfg.version !== 1) throw bad(`unsupported version ${JSON.stringify(cfg.version)}`)
  if (typeof cfg.profiles !== 'object' || cfg.profiles === null || Array.isArray(cfg.profiles)) {
    throw bad('"profiles" is not an object')
  }
  for (const [key, rec] of Object.entries(cfg.profiles)) {
    if (
      typeof rec !== 'object' ||
      rec === null ||
      typeof rec.provider !== 'string' ||
      typeof rec.profile !== 'string' ||
      typeof rec.kind !== 'string' ||
      !['keychain', 'file', 'memory'].includes(rec.store) ||
      typeof rec.data !== 'object'
    ) {
      throw bad(`profile ${JSON.stringify(key)} is malformed`)
    }
  }
  return cfg as ConfigFile
}
