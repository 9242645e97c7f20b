// `npm run demo`: the whole flow against the bundled emulators, in a throwaway config dir.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startHaut } from '../test/emulators/haut.js'
import { startInstabase } from '../test/emulators/instabase.js'
import { startLucid } from '../test/emulators/lucid.js'
import { startLucidworks } from '../test/emulators/lucidworks.js'
import { startLupaSearch } from '../test/emulators/lupasearch.js'
import { baseEnv, runCli } from '../test/helpers/cli.js'
import { freePort } from '../test/helpers/net.js'

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)

/** A stand-in browser: fetches the authorize URL and follows the redirect to authctl's callback. */
function browserScript(dir: string): string {
  const file = join(dir, 'demo-browser')
  writeFileSync(file, `#!${process.execPath}\nfetch(process.argv[2]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))\n`, { mode: 0o700 })
  return file
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-demo-'))
  const lw = await startLucidworks({ clients: { 'demo-client': 'demo-secret-7f3a9c' } })
  const lupa = await startLupaSearch()
  const haut = await startHaut()
  const ib = await startInstabase()
  const lucid = await startLucid()
  const env = baseEnv({
    AUTHCTL_CONFIG_DIR: dir,
    AUTHCTL_STORE: 'file',
    AUTHCTL_PASSPHRASE: 'demo passphrase',
    AUTHCTL_LUCIDWORKS_TOKEN_URL: lw.tokenUrl,
    AUTHCTL_LUPASEARCH_API_URL: lupa.apiUrl,
    AUTHCTL_HAUT_API_URL: haut.apiUrl,
    AUTHCTL_INSTABASE_API_URL: ib.apiUrl,
    AUTHCTL_LUCID_API_URL: lucid.apiUrl,
    AUTHCTL_LUCID_AUTHORIZE_URL: lucid.authorizeUrl,
    // The demo plays the browser itself: a tiny program that follows the authorize redirect.
    BROWSER: browserScript(dir),
  })
  const step = async (title: string, args: string[], input?: string) => {
    const shown = args.map((a) => (/[\s"'$]/.test(a) ? `'${a}'` : a)).join(' ')
    process.stdout.write(`\n${bold(`$ authctl ${shown}`)}${input ? bold(' <<< "…secret…"') : ''}   # ${title}\n`)
    const r = await runCli(args, { env, input })
    // Tokens are shortened here only to keep the demo readable; `authctl token` prints them whole.
    process.stdout.write(r.stdout.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+|hpt_[\w-]+|oauth2-[\w-]+/g, (t) => `${t.slice(0, 24)}…(${t.length} chars)`))
    process.stdout.write(r.stderr)
    process.stdout.write(`(exit ${r.code})\n`)
    if (r.code !== 0 && !title.includes('expected')) throw new Error(`demo step failed: ${args.join(' ')}`)
    return r
  }
  try {
    process.stdout.write(`Emulators: Lucidworks ${lw.url}, LupaSearch ${lupa.url}, Haut.ai ${haut.url}; config in ${dir} (file store)\n`)
    process.stdout.write(`\n${bold('== Lucidworks AI: OAuth2 client credentials, one token per scope ==')}\n`)
    await step(
      'log in with a client id and a secret on stdin',
      ['login', 'lucidworks', '--client-id', 'demo-client', '--client-secret-stdin', '--scope', 'machinelearning.predict', '--scope', 'machinelearning.model'],
      'demo-secret-7f3a9c\n',
    )
    await step('print a token (served from the encrypted cache)', ['token', 'lucidworks'])
    await step('a header line for the Models API scope', ['token', 'lucidworks', '--scope', 'machinelearning.model', '--format', 'header'])
    await step('who the credential belongs to', ['whoami', 'lucidworks'])
    await step('run a command with tokens in its environment', [
      'exec',
      '--',
      process.execPath,
      '-e',
      'console.log("child sees LUCIDWORKS_ACCESS_TOKEN of", process.env.LUCIDWORKS_ACCESS_TOKEN.length, "chars")',
    ])
    await step('keys are managed in the Platform UI (exit 7 expected)', ['keys', 'list', 'lucidworks'])

    process.stdout.write(`\n${bold('== LupaSearch: email + password → 1 h JWT; project API keys ==')}\n`)
    await step(
      'log in; the password is kept so `token` can renew unattended',
      ['login', 'lupa', '--email', 'dev@example.com', '--password-stdin', '--project', 'shop'],
      'lupa-password-123\n',
    )
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

    process.stdout.write(`\n${bold('== Instabase AI Hub: a token made in the UI, plus IB-Context ==')}\n`)
    await step(
      'store the token for the organization context (checked with GET /v2/batches?limit=1)',
      ['login', 'aihub', '--token-stdin', '--context', 'acme-org'],
      'ib-token-abcdefghijklmnopqrst\n',
    )
    await step('headers for AI Hub calls', ['token', 'aihub', '--format', 'header'])

    process.stdout.write(`\n${bold('== Lucid: OAuth 2.0 in the browser, rotating refresh tokens ==')}\n`)
    await step(
      'authorize in the browser (here: a stand-in that follows the redirect) and exchange the code',
      ['login', 'lucid', '--client-id', 'lucid-client', '--client-secret-stdin', '--port', String(await freePort())],
      'lucid-secret-0123456789\n',
    )
    await step('who am I', ['whoami', 'lucid'])
    await step('force a refresh: the refresh token rotates and the new one is stored first', ['token', 'lucid', '--force-refresh', '--format', 'header'])

    await step('where each credential comes from', ['status'])
    for (const p of ['lucidworks', 'lupasearch', 'haut', 'instabase', 'lucid']) await step(`log out of ${p}`, ['logout', p])
    await step('nothing left (exit 3 expected)', ['logout', 'lucidworks'])
    process.stdout.write(
      `\nRequests: Lucidworks ${lw.tokenRequests()} token, LupaSearch ${lupa.loginRequests()} login, Haut.ai ${haut.loginRequests()} login, Lucid ${lucid.refreshRequests()} refresh.\n`,
    )
  } finally {
    await Promise.all([lw.close(), lupa.close(), haut.close(), ib.close(), lucid.close()])
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`)
  process.exitCode = 1
})
