// `npm run demo`: the whole flow against the bundled emulators, in a throwaway config dir.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLucidworks } from '../test/emulators/lucidworks.js'
import { baseEnv, runCli } from '../test/helpers/cli.js'

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-demo-'))
  const lw = await startLucidworks({ clients: { 'demo-client': 'demo-secret-7f3a9c' } })
  const env = baseEnv({
    AUTHCTL_CONFIG_DIR: dir,
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'demo passphrase',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
  })
  const step = async (title: string, args: string[], input?: string) => {
    process.stdout.write(`\n${bold(`$ authctl ${args.join(' ')}`)}${input ? bold(' <<< "…secret…"') : ''}   # ${title}\n`)
    const r = await runCli(args, { env, input })
    // Tokens are shortened here only to keep the demo readable; `authctl token` prints them whole.
    process.stdout.write(r.stdout.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, (t) => `${t.slice(0, 24)}…(${t.length} chars)`))
    process.stdout.write(r.stderr)
    process.stdout.write(`(exit ${r.code})\n`)
    if (r.code !== 0 && !title.includes('expected')) throw new Error(`demo step failed: ${args.join(' ')}`)
    return r
  }
  try {
    process.stdout.write(`Lucidworks emulator on ${lw.url}; config in ${dir} (file store)\n`)
    await step('log in with a client id and a secret on stdin', ['login', 'lucidworks', '--client-id', 'demo-client', '--client-secret-stdin', '--scope', 'machinelearning.predict', '--scope', 'machinelearning.model'], 'demo-secret-7f3a9c\n')
    await step('print a token (served from the encrypted cache)', ['token', 'lucidworks'])
    await step('a header line for the Models API scope', ['token', 'lucidworks', '--scope', 'machinelearning.model', '--format', 'header'])
    await step('who the credential belongs to', ['whoami', 'lucidworks'])
    await step('run a command with tokens in its environment', ['exec', '--', process.execPath, '-e', 'console.log("child sees LUCIDWORKS_ACCESS_TOKEN of", process.env.LUCIDWORKS_ACCESS_TOKEN.length, "chars")'])
    await step('where each credential comes from', ['status'])
    await step('keys are managed in the Platform UI (exit 7 expected)', ['keys', 'list', 'lucidworks'])
    await step('log out', ['logout', 'lucidworks'])
    await step('nothing left (exit 3 expected)', ['logout', 'lucidworks'])
    process.stdout.write(`\n${lw.tokenRequests()} token requests reached the emulator.\n`)
  } finally {
    await lw.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`)
  process.exitCode = 1
})
