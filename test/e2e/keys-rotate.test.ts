import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startHaut } from '../emulators/haut.js'
import { startLupaSearch } from '../emulators/lupasearch.js'
import { BIN, runCli, type CliResult } from '../helpers/cli.js'
import { cliEnv, fileEmulator } from '../helpers/fixture.js'
import { selfSignedCert } from '../helpers/tls.js'

// `keys rotate` end to end against the emulators, with the real file store: the happy paths,
// a SIGKILL at every step, and a provider failure at every step. After each, a working key
// must be stored and the output must have said which keys exist.
const PW = 'haut-password-123'
const haut = fileEmulator(() => startHaut())
const lupa = fileEmulator(() => startLupaSearch())

const freshEnv = (extra: NodeJS.ProcessEnv = {}) =>
  cliEnv(
    { prefix: 'rotate-', passphrase: 'rotate-test' },
    {
      AUTHCTL_HAUT_API_URL: haut.apiUrl,
      AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
      ...extra,
    },
  )

const cli = (env: NodeJS.ProcessEnv, args: string[], input?: string) => runCli(args, { env, ...(input === undefined ? {} : { input }) })

/** A Haut password login with a saved private token; returns its id and secret. */
async function hautWithSavedKey(env: NodeJS.ProcessEnv): Promise<{ id: string; secret: string }> {
  expect((await cli(env, ['login', 'haut', '--email', 'lab@example.com', '--password-stdin'], PW)).code).toBe(0)
  const c = await cli(env, ['keys', 'create', 'haut', '--name', 'ci-deploy', '--expires', '30d', '--save'])
  expect(c.code, c.stderr).toBe(0)
  const secret = c.stdout.trim()
  const id = String([...haut.privateTokens.values()].find((t) => t.data === secret)?.id)
  return { id, secret }
}

const hautKeyWorks = (secret: string) => [...haut.privateTokens.values()].some((t) => t.data === secret && Date.parse(t.expiration_time) > Date.now())
const hautIdOf = (secret: string) => String([...haut.privateTokens.values()].find((t) => t.data === secret)?.id)

/** The key `token` and `exec` would use now, and its id as `status` reports it. */
async function storedHaut(env: NodeJS.ProcessEnv): Promise<{ secret: string; id: string }> {
  const t = await cli(env, ['token', 'haut', '--api-key'])
  expect(t.code, t.stderr).toBe(0)
  const st = JSON.parse((await cli(env, ['status', '--json'])).stdout) as { profiles: Array<{ provider: string; key: { id: string } | null }> }
  return { secret: t.stdout.trim(), id: st.profiles.find((p) => p.provider === 'haut')?.key?.id ?? '' }
}

/** The CLI killed with SIGKILL right after it announces a step on stderr (test/fixtures/kill-after.cjs). */
const killedAfter = (env: NodeJS.ProcessEnv, line: string): NodeJS.ProcessEnv => ({
  ...env,
  NODE_OPTIONS: `--require ${join(__dirname, '..', 'fixtures', 'kill-after.cjs')}`,
  AUTHCTL_TEST_KILL_AFTER: line,
})

function expectKilled(r: CliResult): void {
  expect(r.signal, r.stderr).toBe('SIGKILL')
}

describe('keys rotate haut', () => {
  it('replaces a saved key: same name, checked with the new key, stored in its place, old one revoked', async () => {
    const env = freshEnv()
    const old = await hautWithSavedKey(env)
    const r = await cli(env, ['keys', 'rotate', 'haut', old.id, '--yes', '--expires', '60d'])
    expect(r.code, r.stderr).toBe(0)
    const secret = r.stdout.trim()
    expect(secret).toMatch(/^hpt_/)
    const id = hautIdOf(secret)
    expect(haut.privateTokens.get(Number(id))).toMatchObject({ name: 'ci-deploy' })
    expect(Math.abs(Date.parse(haut.privateTokens.get(Number(id))!.expiration_time) - (Date.now() + 60 * 86400_000))).toBeLessThan(120_000)
    expect(haut.privateTokens.has(Number(old.id))).toBe(false)
    // verified with the new key itself
    expect(haut.requests.some((q) => q.path.endsWith('/datasets/') && q.headers.authorization === `Bearer ${secret}`)).toBe(true)
    expect(await storedHaut(env)).toEqual({ secret, id })
    expect(r.stderr).toContain(`Created Haut.ai key ${id} (ci-deploy) to replace ${old.id}`)
    expect(r.stderr).toContain(`Checked: key ${id} works.`)
    expect(r.stderr).toContain(`Saved key ${id} in profile default in place of key ${old.id}`)
    expect(r.stderr).toContain(`Revoked the old key ${old.id}.`)
    expect(r.stderr).not.toContain(secret)
  })

  it('a key that was not saved is rotated and the new secret printed; nothing is stored', async () => {
    const env = freshEnv()
    await cli(env, ['login', 'haut', '--email', 'lab@example.com', '--password-stdin'], PW)
    const first = (await cli(env, ['keys', 'create', 'haut', '--name', 'elsewhere', '--expires', '30d'])).stdout.trim()
    const firstId = hautIdOf(first)
    const r = await cli(env, ['--json', 'keys', 'rotate', 'haut', firstId, '--yes'])
    expect(r.code, r.stderr).toBe(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).toMatchObject({ provider: 'haut', profile: 'default', replaces: firstId, key: { name: 'elsewhere', data: expect.stringMatching(/^hpt_/) } })
    expect(hautKeyWorks(doc.key.data)).toBe(true)
    expect(hautKeyWorks(first)).toBe(false)
    expect(r.stderr).toContain('90 days') // the create default, said on stderr
    expect(r.stderr).toContain('was not saved in profile default')
    expect((await cli(env, ['token', 'haut', '--api-key'])).code).toBe(4) // still nothing saved
  })

  it.each(['after-create', 'after-verify'])('killed %s: the old key is still stored and works; the output named the new key', async (point) => {
    const env = freshEnv()
    const old = await hautWithSavedKey(env)
    const r = await cli(killedAfter(env, point === 'after-create' ? '^Created Haut' : '^Checked: key'), ['keys', 'rotate', 'haut', old.id, '--yes'])
    expectKilled(r)
    const created = r.stdout.trim()
    expect(hautKeyWorks(created)).toBe(true) // printed before the kill: not lost
    const newId = hautIdOf(created)
    expect(r.stderr).toContain(`Created Haut.ai key ${newId} (ci-deploy) to replace ${old.id}`)
    expect(r.stderr).toContain(`key ${old.id} stays the stored key until the new one is checked and saved`)
    if (point === 'after-verify') expect(r.stderr).toContain(`Checked: key ${newId} works.`)
    expect(await storedHaut(env)).toEqual(old)
    expect(hautKeyWorks(old.secret)).toBe(true)
    // A second rotation completes; the orphan is revoked as the first run's output said.
    expect((await cli(env, ['keys', 'rotate', 'haut', old.id, '--yes'])).code).toBe(0)
    expect((await cli(env, ['keys', 'revoke', 'haut', newId, '--yes'])).code).toBe(0)
    expect(hautKeyWorks((await storedHaut(env)).secret)).toBe(true)
  })

  it('killed after the save: the new key is stored and works; the old one still works until revoked', async () => {
    const env = freshEnv()
    const old = await hautWithSavedKey(env)
    const r = await cli(killedAfter(env, '^Saved key'), ['keys', 'rotate', 'haut', old.id, '--yes'])
    expectKilled(r)
    const created = r.stdout.trim()
    const newId = hautIdOf(created)
    expect(r.stderr).toContain(`Saved key ${newId} in profile default in place of key ${old.id}`)
    expect(await storedHaut(env)).toEqual({ secret: created, id: newId })
    expect(hautKeyWorks(created)).toBe(true)
    expect(hautKeyWorks(old.secret)).toBe(true)
    expect((await cli(env, ['keys', 'revoke', 'haut', old.id, '--yes'])).code).toBe(0)
  })

  it('killed during the revoke (request in flight): the new key is stored and works', async () => {
    const env = freshEnv()
    const old = await hautWithSavedKey(env)
    haut.faults.push({ path: `/private_tokens/${old.id}/`, method: 'DELETE', delayMs: 20_000, status: 204 })
    const child = spawn(process.execPath, [BIN, 'keys', 'rotate', 'haut', old.id, '--yes'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise((r) => child.on('close', r))
    const deadline = Date.now() + 20_000
    while (!haut.requests.some((q) => q.method === 'DELETE' && q.path.endsWith(`/${old.id}/`)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    child.kill('SIGKILL')
    await exited
    const created = stdout.trim()
    const newId = hautIdOf(created)
    expect(stderr).toContain(`Saved key ${newId} in profile default in place of key ${old.id}`)
    expect(await storedHaut(env)).toEqual({ secret: created, id: newId })
    expect(hautKeyWorks(created)).toBe(true)
  })

  it('provider failures at create, verify and revoke: the message names the step and what exists; a working key stays stored', async () => {
    const env = freshEnv()
    const old = await hautWithSavedKey(env)
    // create: HTTP 500 → exit 5, nothing changed
    haut.faults.push({
      path: '/auth/private_tokens/',
      method: 'POST',
      status: 500,
      body: '{"type":"server_error","errors":[{"code":"error","detail":"boom","attr":null}]}',
    })
    const count = haut.privateTokens.size
    const c = await cli(env, ['keys', 'rotate', 'haut', old.id, '--yes'])
    expect(c.code).toBe(5)
    expect(c.stderr).toContain('key rotation stopped at step "create"')
    expect(c.stderr).toContain(`nothing changed: key ${old.id} is still stored and valid`)
    expect(haut.privateTokens.size).toBe(count)
    expect(await storedHaut(env)).toEqual(old)
    // verify: the new key is refused → exit 4; it is revoked again, the old one stays
    haut.faults.push({ path: '/datasets/', status: 401, body: '{"type":"client_error","errors":[{"code":"invalid_token","detail":"no","attr":null}]}' })
    const v = await cli(env, ['keys', 'rotate', 'haut', old.id, '--yes'])
    expect(v.code).toBe(4)
    const rejected = v.stdout.trim()
    expect(rejected).toMatch(/^hpt_/)
    expect(v.stderr).toContain('key rotation stopped at step "verify"')
    expect(v.stderr).toMatch(new RegExp(`key ${old.id} is still stored and valid; the new key \\d+ was revoked`))
    expect(hautKeyWorks(rejected)).toBe(false) // revoked again
    expect(await storedHaut(env)).toEqual(old)
    // revoke: HTTP 500 → exit 5, the new key is stored and works, the old one is named for revoking
    haut.faults.push({ path: `/private_tokens/${old.id}/`, method: 'DELETE', status: 500 })
    const rv = await cli(env, ['keys', 'rotate', 'haut', old.id, '--yes'])
    expect(rv.code).toBe(5)
    const created = rv.stdout.trim()
    const newId = hautIdOf(created)
    expect(rv.stderr).toContain('key rotation stopped at step "revoke"')
    expect(rv.stderr).toContain(
      `the new key ${newId} is stored and works; the old key ${old.id} is still valid: revoke it with \`authctl keys revoke haut ${old.id} --yes\``,
    )
    expect(await storedHaut(env)).toEqual({ secret: created, id: newId })
    expect(hautKeyWorks(old.secret)).toBe(true)
  })

  it('confirmation: non-interactive without --yes is exit 2 and nothing is created; unknown id is exit 3', async () => {
    const env = freshEnv()
    const old = await hautWithSavedKey(env)
    const count = haut.privateTokens.size
    const r = await cli(env, ['keys', 'rotate', 'haut', old.id])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--yes')
    expect((await cli(env, ['keys', 'rotate', 'haut', '999999', '--yes'])).code).toBe(3)
    expect(haut.privateTokens.size).toBe(count)
  })

  it('lucidworks, instabase and lucid have no key API: exit 7', async () => {
    const env = freshEnv()
    for (const p of ['lucidworks', 'instabase', 'lucid']) {
      const r = await cli(env, ['keys', 'rotate', p, 'k1', '--yes'])
      expect(r.code, p).toBe(7)
    }
  })
})

describe('keys rotate lupasearch', () => {
  it('keeps description, access and index scope; checks the key on its index; stores it; revokes the old', async () => {
    const env = freshEnv()
    expect((await cli(env, ['login', 'lupa', '--email', 'dev@example.com', '--password-stdin', '--project', 'shop'], 'lupa-password-123')).code).toBe(0)
    const c = await cli(env, ['keys', 'create', 'lupa', '--description', 'search box', '--access', 'full', '--index', 'idx-1', '--index', 'idx-2', '--save'])
    expect(c.code, c.stderr).toBe(0)
    const oldKey = [...lupa.keys.values()].find((k) => k.key === c.stdout.trim())!
    const r = await cli(env, ['keys', 'rotate', 'lupa', oldKey.id, '--yes'])
    expect(r.code, r.stderr).toBe(0)
    const newKey = [...lupa.keys.values()].find((k) => k.key === r.stdout.trim())!
    expect(newKey).toMatchObject({ description: 'search box', access: 'full', restrictIndexScope: true, indexIds: ['idx-1', 'idx-2'], expiration: null })
    expect(lupa.keys.has(oldKey.id)).toBe(false)
    expect(lupa.requests.some((q) => q.path === '/v1/indices/idx-1' && q.headers['x-lupa-api-key'] === newKey.key)).toBe(true)
    expect((await cli(env, ['token', 'lupa', '--api-key'])).stdout.trim()).toBe(newKey.key)
  })
})

describe('keys list haut behind TLS', () => {
  it('follows a same-host http:// next link as https://', async () => {
    const files = selfSignedCert('127.0.0.1', 'IP:127.0.0.1')
    let port = 0
    const tls = await startHaut({
      tls: { key: readFileSync(files.key, 'utf8'), cert: readFileSync(files.cert, 'utf8') },
      linkBase: () => `http://127.0.0.1:${port}`,
    })
    port = tls.port
    try {
      const env = freshEnv({ AUTHCTL_HAUT_API_URL: tls.apiUrl, NODE_EXTRA_CA_CERTS: files.cert })
      expect(tls.apiUrl).toMatch(/^https:/)
      const login = await cli(env, ['login', 'haut', '--email', 'lab@example.com', '--password-stdin'], PW)
      expect(login.code, login.stderr).toBe(0)
      for (let i = 0; i < 5; i++) expect((await cli(env, ['keys', 'create', 'haut', '--name', `k${i}`, '--expires', '30d'])).code).toBe(0)
      const list = await cli(env, ['keys', 'list', 'haut', '--json'])
      expect(list.code, list.stderr).toBe(0)
      expect(JSON.parse(list.stdout).map((k: { name: string }) => k.name)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'])
      expect(tls.count('/auth/private_tokens/', 'GET')).toBe(3)
    } finally {
      await tls.close()
    }
  })
})

describe('expired stored keys through the start-up fast path', () => {
  it('a stored key whose recorded expiry has passed is not served by the fast path either: exit 4', async () => {
    const env = freshEnv()
    const exp = new Date(Date.now() + 86400_000).toISOString()
    expect((await cli(env, ['login', 'lucid', '--api-key-stdin', '--no-verify', '--expires', exp], 'lucid-key-0123456789')).code).toBe(0)
    expect((await cli(env, ['token', 'lucid'])).stdout).toBe('lucid-key-0123456789\n')
    // The expiry lives in the (non-secret) config: move it into the past, as time would.
    const file = join(env.AUTHCTL_CONFIG_DIR as string, 'config.json')
    const cfg = JSON.parse(readFileSync(file, 'utf8'))
    cfg.profiles['lucid:default'].data.expiresAt = new Date(Date.now() - 60_000).toISOString()
    writeFileSync(file, JSON.stringify(cfg))
    for (const args of [
      ['token', 'lucid'],
      ['exec', '--', 'true'],
    ]) {
      const r = await cli(env, args)
      expect(r.code, args.join(' ')).toBe(4)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain('Lucid API key stored in profile default expired on')
    }
  })
})
