import type { Emulator } from '../emulators/_server.js'
import { startHaut } from '../emulators/haut.js'
import { startInstabase } from '../emulators/instabase.js'
import { startLucid } from '../emulators/lucid.js'
import { startLucidworks } from '../emulators/lucidworks.js'
import { startLupaSearch } from '../emulators/lupasearch.js'
import { type OAuth2Emulator, startOAuth2 } from '../emulators/oauth2.js'
import { runCli } from './cli.js'
import { lucidManualCode } from './lucid.js'

/**
 * One line per provider for tests that cover all six: canary secrets the emulators accept,
 * how to log in through the built CLI, the command that makes the provider request a renewal
 * (`renew`, hitting `renewPath`) and one that uses the token (`use`, hitting `usePath`).
 */
export interface ProviderCase {
  id: string
  /** Login secrets: must never appear outside the secret store. */
  loginSecrets: string[]
  /** Long-lived keys/tokens the user gave us: allowed only in `token` output and exec children. */
  userTokens: string[]
  start(): Promise<Emulator>
  env(emu: Emulator): Record<string, string>
  login(env: NodeJS.ProcessEnv, emu: Emulator): Promise<void>
  renew: string[]
  renewPath: string
  use: string[]
  usePath: string
  /** The provider's own body for a revoked token (401). */
  revokedBody: string
}

export const CANARY = {
  lwSecret: 'CANARY-lw-client-secret-7c1e',
  lupaPassword: 'CANARY-lupa-password-9d2f',
  hautPassword: 'CANARY-haut-password-3a8b',
  ibToken: 'CANARYibtoken5e6f7a8b9c0d',
  lucidSecret: 'CANARY-lucid-client-secret-1b2c',
  oauth2Secret: 'CANARY-oauth2-client-secret-4e5f',
  /** The file store's passphrase, the shared cache's password and the fleet key: keys to the vault. */
  passphrase: 'CANARY-passphrase-6d4e',
  redisPassword: 'CANARY-redis-password-2f7a',
  fleetKey: 'CANARY-fleet-key-5c9b-0123456789abcdefghijkl',
} as const

async function ok(p: Promise<{ code: number | null; stderr: string }>, what: string): Promise<void> {
  const r = await p
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`)
}

export const PROVIDER_CASES: ProviderCase[] = [
  {
    id: 'lucidworks',
    loginSecrets: [CANARY.lwSecret],
    userTokens: [],
    start: () => startLucidworks({ clients: { 'lw-canary': CANARY.lwSecret } }),
    env: (e) => ({ AUTHCTL_LUCIDWORKS_TOKEN_URL: (e as Awaited<ReturnType<typeof startLucidworks>>).tokenUrl }),
    login: (env) =>
      ok(runCli(['login', 'lucidworks', '--client-id', 'lw-canary', '--client-secret-stdin'], { env, input: CANARY.lwSecret }), 'lucidworks login'),
    renew: ['token', 'lucidworks', '--force-refresh'],
    renewPath: '/v1/token',
    use: ['token', 'lucidworks', '--force-refresh'],
    usePath: '/v1/token',
    revokedBody: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed.' }),
  },
  {
    id: 'lupasearch',
    loginSecrets: [CANARY.lupaPassword],
    userTokens: [],
    start: () =>
      startLupaSearch({
        users: [
          {
            email: 'canary@example.com',
            password: CANARY.lupaPassword,
            id: 'u-1',
            organizations: [{ slug: 'acme', role: 'ORGANIZATION_ADMIN', projects: ['shop'] }],
          },
        ],
      }),
    env: (e) => ({ AUTHCTL_LUPASEARCH_API_URL: `${e.url}/v1` }),
    login: (env) =>
      ok(
        runCli(['login', 'lupasearch', '--email', 'canary@example.com', '--password-stdin', '--project', 'shop'], { env, input: CANARY.lupaPassword }),
        'lupasearch login',
      ),
    renew: ['token', 'lupasearch', '--force-refresh'],
    renewPath: '/users/login',
    use: ['whoami', 'lupasearch'],
    usePath: '/users/me',
    revokedBody: JSON.stringify({ errors: [{ message: 'Unauthorized' }] }),
  },
  {
    id: 'instabase',
    loginSecrets: [],
    userTokens: [CANARY.ibToken],
    start: () => startInstabase({ tokens: { [CANARY.ibToken]: { contexts: ['acme-org'] } } }),
    env: (e) => ({ AUTHCTL_INSTABASE_API_URL: `${e.url}/api` }),
    login: (env) => ok(runCli(['login', 'instabase', '--token-stdin', '--context', 'acme-org'], { env, input: CANARY.ibToken }), 'instabase login'),
    renew: ['whoami', 'instabase'],
    renewPath: '/v2/batches',
    use: ['whoami', 'instabase'],
    usePath: '/v2/batches',
    revokedBody: JSON.stringify({ message: 'Invalid or expired token' }),
  },
  {
    id: 'lucid',
    loginSecrets: [CANARY.lucidSecret],
    userTokens: [],
    start: () => startLucid({ clients: { 'lucid-canary': { secret: CANARY.lucidSecret } } }),
    env: (e) => ({ AUTHCTL_LUCID_API_URL: e.url, AUTHCTL_LUCID_AUTHORIZE_URL: `${e.url}/oauth2/authorize` }),
    async login(env, emu) {
      const code = await lucidManualCode(emu.url, 'lucid-canary')
      await ok(
        runCli(['login', 'lucid', '--client-id', 'lucid-canary', '--client-secret-stdin', '--manual'], { env, input: `${CANARY.lucidSecret}\n${code}\n` }),
        'lucid login',
      )
    },
    renew: ['token', 'lucid', '--force-refresh'],
    renewPath: '/oauth2/token',
    use: ['whoami', 'lucid'],
    usePath: '/users/me/profile',
    revokedBody: JSON.stringify({ error: 'invalid_token', error_description: 'The access token is invalid or expired' }),
  },
  {
    id: 'haut',
    loginSecrets: [CANARY.hautPassword],
    userTokens: [],
    start: () => startHaut({ users: [{ id: 9, email: 'canary@example.com', password: CANARY.hautPassword, companyId: 'c-canary' }] }),
    env: (e) => ({ AUTHCTL_HAUT_API_URL: `${e.url}/api/v1` }),
    login: (env) => ok(runCli(['login', 'haut', '--email', 'canary@example.com', '--password-stdin'], { env, input: CANARY.hautPassword }), 'haut login'),
    renew: ['token', 'haut', '--force-refresh'],
    renewPath: '/auth/login/',
    use: ['whoami', 'haut'],
    usePath: '/datasets/',
    revokedBody: JSON.stringify({
      type: 'client_error',
      errors: [{ code: 'invalid_token', detail: 'The provided token is expired or invalid.', attr: null, extra: null }],
    }),
  },
  {
    // The CI way: token URL and client from the environment. (A stored oauth2 login keeps its
    // own token URL, which no variable can point elsewhere, as the "connection refused" fault
    // needs; test/e2e/oauth2.test.ts covers stored logins.)
    id: 'oauth2',
    loginSecrets: [CANARY.oauth2Secret],
    userTokens: [],
    start: () => startOAuth2({ clients: { 'oauth2-canary': { secret: CANARY.oauth2Secret, auth: 'basic' } } }),
    env: (e) => ({ OAUTH2_TOKEN_URL: (e as OAuth2Emulator).tokenUrl, OAUTH2_CLIENT_ID: 'oauth2-canary', OAUTH2_CLIENT_SECRET: CANARY.oauth2Secret }),
    login: (env) => ok(runCli(['token', 'oauth2'], { env }), 'oauth2 token from the environment'),
    renew: ['token', 'oauth2', '--force-refresh'],
    renewPath: '/oauth2/token',
    use: ['token', 'oauth2', '--force-refresh'],
    usePath: '/oauth2/token',
    revokedBody: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed.' }),
  },
]
