import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import dotenv from 'dotenv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { startLucidworks, type LucidworksEmulator } from '../emulators/lucidworks.js'
import { baseEnv, BIN } from '../helpers/cli.js'
import { readDockerEnvFile, readGithubEnvFile } from '../helpers/env-readers.js'
import { tempDir } from '../helpers/tmp.js'

/**
 * The README's "CI recipes", run as far as they can be offline: the YAML is parsed and checked
 * for the commands it contains, and every `run:`/`script:` line is executed by bash with
 * `authctl` on PATH (this checkout's build) against the Lucidworks emulator, with the secrets a
 * CI system would inject. `npm i -g authctl@X.Y.Z` is checked (pinned to package.json's version)
 * but not run. A small GitHub runner stand-in processes `::add-mask::` lines the way the real
 * runner does (consumed, then every later occurrence of the value in the log shown as ***) and
 * carries $GITHUB_ENV from step to step.
 */
const ROOT = resolve(__dirname, '..', '..')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
const SECRETS = { LUCIDWORKS_CLIENT_ID: 'lw-client', LUCIDWORKS_CLIENT_SECRET: 'lw-secret-0123456789' }
const VARS = { LUCIDWORKS_APPLICATION_ID: 'my-app' }

let lw: LucidworksEmulator
beforeAll(async () => {
  lw = await startLucidworks()
})
afterAll(() => lw.close())

function recipesSection(): string {
  const start = README.indexOf('\n## CI recipes')
  expect(start).toBeGreaterThan(0)
  const end = README.indexOf('\n## ', start + 5)
  return README.slice(start, end < 0 ? undefined : end)
}

function codeBlocks(lang: string): string[] {
  return [...recipesSection().matchAll(/```(\w+)\n([\s\S]*?)```/g)].filter((m) => m[1] === lang).map((m) => m[2] as string)
}

function block(lang: string, marker: string): string {
  const found = codeBlocks(lang).filter((b) => b.includes(marker))
  expect(found, `one ${lang} block with ${marker}`).toHaveLength(1)
  return found[0] as string
}

/** A workspace with `authctl` (this build) on PATH and the scripts the recipes call. */
function workspace(): { dir: string; out: string; path: string } {
  const dir = tempDir('recipe-')
  const bin = join(dir, '.bin')
  const out = join(dir, '.out')
  mkdirSync(bin)
  mkdirSync(out)
  mkdirSync(join(dir, 'scripts'))
  const exe = (file: string, text: string) => {
    writeFileSync(file, text)
    chmodSync(file, 0o755)
  }
  exe(join(bin, 'authctl'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  // The project's own scripts: they check what they were given, and echo the token as a careless
  // script would (the log must not show it).
  exe(
    join(dir, 'scripts', 'predict.sh'),
    `#!/bin/sh
set -eu
test -n "\${LUCIDWORKS_ACCESS_TOKEN:-}"
test -z "\${LUCIDWORKS_CLIENT_SECRET:-}"
printf %s "$LUCIDWORKS_ACCESS_TOKEN" > "$OUT/predict.token"
echo "predict.sh: app \${LUCIDWORKS_APPLICATION_ID:-?}, curl -H 'Authorization: Bearer $LUCIDWORKS_ACCESS_TOKEN'"
`,
  )
  exe(
    join(dir, 'scripts', 'smoke-test.sh'),
    `#!/bin/sh
set -eu
printf %s "$LUCIDWORKS_ACCESS_TOKEN" > "$OUT/smoke.token"
echo "smoke-test.sh: token $LUCIDWORKS_ACCESS_TOKEN"
`,
  )
  // docker stand-in: `run [--rm] [--env-file F]... IMAGE CMD...` runs CMD here with only the
  // env file's variables (docker's documented --env-file rule), and keeps a copy of the file.
  // (Node 20/22 takes an `--env-file` anywhere in its argv as its own option, so the flag is
  // renamed before node sees it.)
  exe(
    join(bin, 'docker'),
    `#!/bin/bash
args=(); for a in "$@"; do [ "$a" = --env-file ] && a=--ENV-FILE; args+=("$a"); done
exec "${process.execPath}" "${join(bin, 'docker.cjs')}" "\${args[@]}"
`,
  )
  exe(
    join(bin, 'docker.cjs'),
    `const fs = require('fs'), { spawnSync } = require('child_process')
const a = process.argv.slice(2)
if (a[0] !== 'run') process.exit(125)
let i = 1
const files = []
for (; i < a.length; i++) { if (a[i] === '--rm') continue; if (a[i] === '--ENV-FILE') { files.push(a[++i]); continue } break }
const cmd = a.slice(i + 1)
const env = { PATH: process.env.PATH, OUT: process.env.OUT }
for (const f of files) {
  const text = fs.readFileSync(f)
  fs.writeFileSync(process.env.OUT + '/docker.env', text)
  for (let line of text.toString('utf8').split('\\n')) {
    if (line.endsWith('\\r')) line = line.slice(0, -1)
    line = line.replace(/^\\s+/, '')
    if (!line || line[0] === '#') continue
    const eq = line.indexOf('=')
    if (eq < 0) continue
    if (/[ \\t]/.test(line.slice(0, eq))) { console.error('docker: invalid env file'); process.exit(125) }
    env[line.slice(0, eq)] = line.slice(eq + 1)
  }
}
const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit', env })
process.exit(r.status ?? 125)
`,
  )
  return { dir, out, path: `${bin}:${process.env.PATH}` }
}

/** bash with stdout and stderr in one pipe, as a CI log records them. */
function bash(script: string, opts: { cwd: string; env: NodeJS.ProcessEnv; flags?: string[] }): Promise<{ code: number | null; output: string }> {
  return new Promise((res, rej) => {
    const child = spawn('bash', ['--noprofile', '--norc', ...(opts.flags ?? ['-e', '-o', 'pipefail']), '-c', `exec 2>&1\n${script}`], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
    child.on('error', rej)
    child.on('close', (code) => res({ code, output }))
  })
}

/** `${{ secrets.X }}` / `${{ vars.X }}` as GitHub expands them (a missing secret is empty). */
function expand(value: unknown, secrets: Record<string, string>): string {
  return String(value).replace(
    /\$\{\{\s*(secrets|vars)\.(\w+)\s*\}\}/g,
    (_m, kind: string, name: string) => (kind === 'secrets' ? secrets[name] : (VARS as Record<string, string>)[name]) ?? '',
  )
}

interface Step {
  name?: string
  uses?: string
  run?: string
  env?: Record<string, string>
}

/** Runs the job's steps like a runner: masks from ::add-mask::, $GITHUB_ENV between steps. */
async function runGithubJob(steps: Step[], secrets: Record<string, string>) {
  const ws = workspace()
  const githubEnv = join(ws.dir, '.github_env')
  const base = baseEnv({
    PATH: ws.path,
    HOME: ws.dir,
    AUTHCTL_CONFIG_DIR: join(ws.dir, '.config-authctl'),
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    OUT: ws.out,
  })
  const masks: string[] = []
  const log: string[] = []
  const raw: Record<string, string> = {}
  let carried: Record<string, string> = {}
  for (const step of steps) {
    const name = step.name ?? step.uses ?? step.run ?? '?'
    log.push(`##[group]${name}`)
    if (step.uses) {
      log.push(`(uses: ${step.uses} — not run offline)`)
      continue
    }
    const run = step.run as string
    if (/npm i(nstall)? -g authctl/.test(run)) {
      expect(run.trim()).toBe(`npm i -g authctl@${VERSION}`)
      log.push(`(${run.trim()} — this checkout's build is on PATH instead)`)
      continue
    }
    writeFileSync(githubEnv, '')
    const stepEnv = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(v, secrets)]))
    const r = await bash(run, { cwd: ws.dir, env: { ...base, ...carried, ...stepEnv, GITHUB_ENV: githubEnv } })
    raw[name] = r.output
    for (const line of r.output.split('\n')) {
      const cmd = /^\s*::add-mask::(.*)$/.exec(line)
      if (cmd) {
        masks.push((cmd[1] as string).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
        continue // the runner does not echo add-mask commands
      }
      if (line !== '') log.push(masks.reduce((l, m) => l.split(m).join('***'), line))
    }
    carried = { ...carried, ...readGithubEnvFile(readFileSync(githubEnv, 'utf8')) }
    if (r.code !== 0) {
      log.push(`##[error]Process completed with exit code ${r.code}.`)
      return { ws, log, raw, masks, carried, failed: name, code: r.code }
    }
  }
  return { ws, log, raw, masks, carried, failed: undefined, code: 0 }
}

describe('README CI recipes', () => {
  it('no recipe uses an unpinned npx authctl', () => {
    const blocks = [...recipesSection().matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1])
    expect(blocks.length).toBeGreaterThanOrEqual(4)
    for (const b of blocks) expect(b).not.toMatch(/npx authctl/)
  })

  describe('GitHub Actions', () => {
    const workflow = () => parseYaml(block('yaml', '.github/workflows/')) as { jobs: Record<string, { steps: Step[] }> }
    const steps = () => Object.values(workflow().jobs)[0]!.steps

    it('installs a pinned version, takes credentials from secrets, runs exec, writes env --format dotenv to $GITHUB_ENV', () => {
      const s = steps()
      const runs = s.map((x) => x.run ?? '')
      expect(runs).toContain(`npm i -g authctl@${VERSION}`)
      expect(runs.some((r) => /authctl exec -- /.test(r))).toBe(true)
      expect(runs.some((r) => /authctl env .*--format dotenv >> "\$GITHUB_ENV"/.test(r))).toBe(true)
      const withCreds = s.filter((x) => x.env?.LUCIDWORKS_CLIENT_SECRET)
      expect(withCreds.length).toBeGreaterThan(0)
      for (const x of withCreds) expect(x.env?.LUCIDWORKS_CLIENT_SECRET).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/)
      expect(recipesSection()).toMatch(/later step[\s\S]{0,200}(see|get)/i) // the $GITHUB_ENV caveat is stated
    })

    it('runs: the token is registered before it is printed, masked by exec, and handed to later steps via $GITHUB_ENV', async () => {
      const job = await runGithubJob(steps(), SECRETS)
      if (process.env.AUTHCTL_RECIPE_LOG) writeFileSync(process.env.AUTHCTL_RECIPE_LOG, `${JSON.stringify(job.raw, null, 2)}\n\n${job.log.join('\n')}\n`)
      expect(job.failed, job.log.join('\n')).toBeUndefined()
      const token = readFileSync(join(job.ws.out, 'predict.token'), 'utf8')
      expect(lw.isValid(token)).toBe(true)
      // authctl printed ::add-mask:: for the token before anything else showed it
      const predictRaw = Object.entries(job.raw).find(([n]) => n === 'Predict')![1]
      expect(predictRaw.indexOf(`::add-mask::${token}`)).toBeGreaterThanOrEqual(0)
      expect(predictRaw.indexOf(token)).toBe(predictRaw.indexOf(`::add-mask::${token}`) + '::add-mask::'.length)
      expect(predictRaw).toContain("curl -H 'Authorization: Bearer ***'") // exec's own masker (CI=true, not a TTY)
      // the later step saw the token through $GITHUB_ENV, printed it raw, and the runner masked it
      const smoke = readFileSync(join(job.ws.out, 'smoke.token'), 'utf8')
      expect(lw.isValid(smoke)).toBe(true)
      expect(job.carried.LUCIDWORKS_ACCESS_TOKEN).toBe(smoke)
      expect(job.carried.LUCIDWORKS_CLIENT_SECRET).toBeUndefined()
      expect(Object.entries(job.raw).find(([n]) => n === 'Smoke test')![1]).toContain(smoke)
      expect(job.masks).toContain(smoke)
      const shown = job.log.join('\n')
      expect(shown).toContain('smoke-test.sh: token ***')
      expect(shown).not.toContain(token)
      expect(shown).not.toContain(smoke)
      expect(shown).not.toContain(SECRETS.LUCIDWORKS_CLIENT_SECRET)
    })

    it('a run without the secrets (a fork pull request) stops at the status check: exit 4, the script never runs', async () => {
      const job = await runGithubJob(steps(), {})
      expect(job.failed).toBe('Predict')
      expect(job.code).toBe(4)
      expect(existsSync(join(job.ws.out, 'predict.token'))).toBe(false)
      expect(existsSync(join(job.ws.out, 'smoke.token'))).toBe(false)
    })
  })

  it('GitLab CI: pinned install; exec masks the token in the job log by default (CI=true, no terminal)', async () => {
    const job = Object.values(
      parseYaml(block('yaml', '.gitlab-ci.yml')) as Record<
        string,
        { image: string; variables?: Record<string, string>; before_script: string[]; script: string[] }
      >,
    )[0]!
    expect(job.image).toMatch(/^node:/)
    expect(job.before_script).toContain(`npm i -g authctl@${VERSION}`)
    expect(job.script.some((l) => /^authctl exec -- /.test(l))).toBe(true)
    const ws = workspace()
    // GitLab: CI/CD variables (the secrets) and the job's variables are in the environment
    const env = baseEnv({
      PATH: ws.path,
      HOME: ws.dir,
      AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
      CI: 'true',
      GITLAB_CI: 'true',
      OUT: ws.out,
      ...SECRETS,
      ...job.variables,
    })
    const r = await bash(job.script.join('\n'), { cwd: ws.dir, env })
    expect(r.code, r.output).toBe(0)
    const token = readFileSync(join(ws.out, 'predict.token'), 'utf8')
    expect(lw.isValid(token)).toBe(true)
    expect(r.output).toContain("predict.sh: app my-app, curl -H 'Authorization: Bearer ***'")
    expect(r.output).not.toContain(token)
    expect(r.output).not.toContain('::add-mask::') // not GitHub
  })

  it('plain Docker: the container gets exactly `authctl env --format dotenv`, no client secret, no file on disk', async () => {
    const script = block('sh', 'docker run')
    const ws = workspace()
    const env = baseEnv({ PATH: ws.path, HOME: ws.dir, AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl, OUT: ws.out, ...SECRETS, ...VARS })
    const r = await bash(script, { cwd: ws.dir, env, flags: [] })
    expect(r.code, r.output).toBe(0)
    const token = readFileSync(join(ws.out, 'predict.token'), 'utf8')
    expect(lw.isValid(token)).toBe(true)
    const file = readFileSync(join(ws.out, 'docker.env'))
    const vars = readDockerEnvFile(file, { trimQuotes: false })
    expect(vars).toEqual(dotenv.parse(file))
    expect(vars.LUCIDWORKS_ACCESS_TOKEN).toBe(token)
    expect(Object.keys(vars).sort()).toEqual([
      'AUTHCTL_PROFILE',
      'LUCIDWORKS_ACCESS_TOKEN',
      'LUCIDWORKS_ACCESS_TOKEN_MACHINELEARNING_PREDICT',
      'LUCIDWORKS_APPLICATION_ID',
    ])
    expect(script).toMatch(/--env-file <\(printf /) // process substitution: nothing written to disk
    // Without the secrets (a fork's pull request) authctl's exit 4 stops the script: a process
    // substitution's exit code is lost even under `set -e`, so `<(authctl env …)` ran the container.
    const fork = workspace()
    const none = await bash(script, {
      cwd: fork.dir,
      env: baseEnv({ PATH: fork.path, HOME: fork.dir, AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl, OUT: fork.out, ...VARS }),
      flags: [],
    })
    expect(none.code, none.output).toBe(4)
    expect(existsSync(join(fork.out, 'docker.env'))).toBe(false) // docker never ran
  })
})
