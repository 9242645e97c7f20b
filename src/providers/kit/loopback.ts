import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { AuthRequiredError, UsageError } from '../../kernel/errors.js'
import type { ProviderContext } from '../types.js'

/** How long `login` waits for the browser to come back (CONTRACT: 5 min). */
export const CALLBACK_TIMEOUT_MS = 5 * 60 * 1000

export interface AuthorizeRequest {
  authorizeUrl: string
  clientId: string
  scopes: readonly string[]
  redirectUri: string
  state: string
  /** PKCE S256 challenge of the verifier the token request will send. */
  codeChallenge: string
}

export function buildAuthorizeUrl(r: AuthorizeRequest): string {
  const url = new URL(r.authorizeUrl)
  url.searchParams.set('client_id', r.clientId)
  url.searchParams.set('redirect_uri', r.redirectUri)
  url.searchParams.set('response_type', 'code')
  url.searchParams.set('scope', r.scopes.join(' '))
  url.searchParams.set('state', r.state)
  url.searchParams.set('code_challenge', r.codeChallenge)
  url.searchParams.set('code_challenge_method', 'S256')
  return url.toString()
}

export function newState(): string {
  return randomBytes(18).toString('base64url')
}

/** A PKCE pair (RFC 7636): a 43-character random verifier and its S256 challenge. */
export function newPkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Opens `url` with $BROWSER or the platform opener; failures only matter as a hint. */
export function openBrowser(url: string, ctx: ProviderContext, platform: NodeJS.Platform = process.platform): void {
  const browser = ctx.env.BROWSER
  const [cmd, args] = browser
    ? [browser, [url]]
    : platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : ['xdg-open', [url]]
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true })
    child.on('error', () => ctx.warn('could not open a browser; open the URL above yourself'))
    child.unref()
  } catch {
    ctx.warn('could not open a browser; open the URL above yourself')
  }
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body>`

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Who the redirect comes from, for pages and messages. */
export interface CallbackParty {
  /** e.g. `Lucid` */
  name: string
  /** The command that starts over, e.g. `authctl login lucid`. */
  again: string
}

type Settle = { resolve: (code: string) => void; reject: (e: Error) => void }

/** The callback's request handler: a matching `state` with a `code` settles the login. */
function callbackHandler(state: string, party: CallbackParty, settle: () => Settle | undefined) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== '/callback') {
      res.writeHead(404).end()
      return
    }
    const error = url.searchParams.get('error')
    if (url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('Login failed', 'The state does not match this login. Start again from the terminal.'))
      return
    }
    if (error) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('Login failed', `${party.name} did not authorize authctl. You can close this tab.`))
      const desc = url.searchParams.get('error_description')
      settle()?.reject(
        new AuthRequiredError(`${party.name} did not authorize authctl: ${error}${desc ? ` (${desc.slice(0, 200)})` : ''}`, {
          hint: `run \`${party.again}\` again and approve the request`,
        }),
      )
      return
    }
    const code = url.searchParams.get('code')
    if (!code) {
      res.writeHead(400).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE(`authctl is logged in to ${party.name}`, 'You can close this tab and return to the terminal.'))
    settle()?.resolve(code)
  }
}

/**
 * Listens on 127.0.0.1:PORT and [::1]:PORT. Browsers may resolve localhost to ::1: whoever holds
 * [::1]:PORT would get the code, so a taken port there is refused too; only a machine without
 * IPv6 loopback is let through.
 */
async function listenBoth(v4: Server, v6: Server, port: number, party: CallbackParty): Promise<void> {
  const refuse = (where: string, err: unknown) =>
    new UsageError(
      `cannot listen on ${where} port ${port} for the ${party.name} redirect (${(err as NodeJS.ErrnoException).code ?? 'error'}): another process may be holding it`,
      { hint: `pass --port with a free port that is registered as a redirect URI of your ${party.name} OAuth client, or use --manual` },
    )
  try {
    await listen(v4, port, '127.0.0.1')
  } catch (err) {
    throw refuse('127.0.0.1', err)
  }
  try {
    await listen(v6, port, '::1')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') {
      v4.close()
      throw refuse('[::1]', err)
    }
  }
}

/**
 * The loopback authorization-code flow's listener (RFC 8252): http://localhost:PORT/callback
 * resolves with the code of the redirect whose `state` matches. A wrong state is answered 400
 * and ignored (it is not our redirect); `error=` ends the login; nothing arrives → exit 4.
 */
export async function waitForCallback(
  port: number,
  state: string,
  onListening: () => void,
  party: CallbackParty,
  timeoutMs = CALLBACK_TIMEOUT_MS,
): Promise<string> {
  let settle: Settle | undefined
  const result = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject }
  })
  const handler = callbackHandler(state, party, () => settle)
  const v4 = createServer(handler)
  const v6 = createServer(handler)
  await listenBoth(v4, v6, port, party)
  const timer = setTimeout(
    () =>
      settle?.reject(
        new AuthRequiredError(`no redirect from ${party.name} arrived within ${Math.round(timeoutMs / 60_000)} min`, {
          hint: `run \`${party.again}\` again; on a machine without a browser use --manual`,
        }),
      ),
    timeoutMs,
  )
  try {
    onListening()
    return await result
  } finally {
    clearTimeout(timer)
    for (const s of [v4, v6]) {
      s.closeAllConnections()
      s.close()
    }
  }
}
