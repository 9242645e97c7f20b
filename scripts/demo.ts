// `npm run demo`: the whole flow against the bundled emulators, in a throwaway config dir.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHaut } from '../test/emulators/haut.js'
import { startLucidworks } from '../test/emulators/lucidworks.js'
import { startLupaSearch } from '../test/emulators/lupasearch.js'
import { baseEnv, runCli } from '../test/helpers/cli.js'

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-demo-'))
  const lw = await startLucidworks({ clients: { 'demo-client': 'demo-secret-7f3a9c' } })
  const lupa = await startLupaSearch()
  const haut = await startHaut()
  const env = baseEnv({
    AUTHCTL_CONFIG_DIR: dir,
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'demo passphrase',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
    AUTHCTL_HAUT_API_URL: haut.apiUrl,
  })
  const step = async (title: string, args: string[], input?: string) => {
    const shown = args.map((a) => (/[\s"'$]/.test(a) ? `'${a}'` : a)).join(' ')
    process.stdout.write(`\n${bold(`$ authctl ${shown}`)}${input ? bold(' <<< "…secret…"') : ''}   # ${title}\n`)
    const r = await runCli(args, { env, input })
    // Tokens are shortened here only to keep the demo readable; `authctl token` prints them whole.
    process.stdout.write(r.stdout.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+|hpt_[\w-]+/g, (t) => `${t.slice(0, 24)}…(${t.length} chars)`))
    process.stdout.write(r.stderr)
    process.stdout.write(`(exit ${r.code})\n`)
    if (r.code !== 0 && !title.includes('expected')) throw new Error(`demo step failed: ${args.join(' ')}`)
    return r
  }
  try {
    process.stdout.write(`Emulators: Lucidworks ${lw.url}, LupaSearch ${lupa.url}, Haut.ai ${haut.url}; config in ${dir} (file store)\n`)
    process.stdout.write(`\n${bold('== Lucidworks AI: OAuth2 client credentials, one token per scope ==')}\n`)
    await step('log in with a client id and a secret on stdin', ['login', 'lucidworks', '--client-id', 'demo-client', '--client-secret-stdin', '--scope', 'machinelearning.predict', '--scope', 'machinelearning.model'], 'demo-secret-7f3a9c\n')
    await step('print a token (served from the encrypted cache)', ['token', 'lucidworks'])
    await step('a header line for the Models API scope', ['token', 'lucidworks', '--scope', 'machinelearning.model', '--format', 'header'])
    await step('who the credential belongs to', ['whoami', 'lucidworks'])
    await step('run a command with tokens in its environment', ['exec', '--', process.execPath, '-e', 'console.log("child sees LUCIDWORKS_ACCESS_TOKEN of", process.env.LUCIDWORKS_ACCESS_TOKEN.length, "chars")'])
    await step('keys are managed in the Platform UI (exit 7 expected)', ['keys', 'list', 'lucidworks'])

    process.stdout.write(`\n${bold('== LupaSearch: email + password → 1 h JWT; project API keys ==')}\n`)
    await step('log in; the password is kept so `token` can renew unattended', ['login', 'lupa', '--email', 'dev@example.com', '--password-stdin', '--project', 'shop'], 'lupa-password-123\n')
    await step('who am I', ['whoami', 'lupa'])
    await step('create a read-only API key and save it in the profile', ['keys', 'create', 'lupa', '--description', 'demo import', '--save'])
    await step('list keys (masked)', ['keys', 'list', 'lupa'])
    await step('the API key as a header', ['token', 'lupa', '--api-key', '--format', 'header'])

    process.stdout.write(`\n${bold('== Haut.ai: email + password → ~1 h token; private tokens ==')}\n`)
    await step('log in (the API calls the email "username")', ['login', 'haut', '--email', 'lab@example.com', '--password-stdin'], 'haut-password-123\n')
    await step('identity from login, checked live', ['whoami', 'haut'])
    await step('a private token for CI (expiry defaults to 90 days)', ['keys', 'create', 'haut', '--name', 'demo-ci'])
    await step('all pages of private tokens', ['keys', 'list', 'haut'])
    await step('variables exec would set', ['token', 'haut', '--format', 'env'])

    await step('where each credential comes from', ['status'])
    for (const p of ['lucidworks', 'lupasearch', 'haut']) await step(`log out of ${p}`, ['logout', p])
    await step('nothing left (exit 3 expected)', ['logout', 'lucidworks'])
    process.stdout.write(`\nRequests: Lucidworks ${lw.tokenRequests()} token, LupaSearch ${lupa.loginRequests()} login, Haut.ai ${haut.loginRequests()} login.\n`)
  } finally {
    await Promise.all([lw.close(), lupa.close(), haut.close()])
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`)
  process.exitCode = 1
})
