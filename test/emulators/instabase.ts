import { startEmulator, type Emulator } from './_server.js'

export interface InstabaseEmulator extends Emulator {
  apiUrl: string
  /** token → contexts it may use (user id, org ids) and whether it still has consumption units */
  tokens: Map<string, { contexts: string[]; units: boolean }>
}

/**
 * AI Hub (PROVIDERS.md §3): Bearer tokens made in the UI, an optional IB-Context header (user
 * or organization ID; default the community context), `{"message"}` errors, 401 for a bad
 * token or context, 403 when the account has no consumption units.
 */
export async function startInstabase(opts: { tokens?: Record<string, { contexts: string[]; units?: boolean }> } = {}): Promise<InstabaseEmulator> {
  const tokens = new Map(
    Object.entries(opts.tokens ?? { 'ib-token-abcdefghijklmnopqrst': { contexts: ['john.doe_acme.com', 'acme-org'] } }).map(([k, v]) => [
      k,
      { contexts: v.contexts, units: v.units ?? true },
    ]),
  )
  const emu = await startEmulator((req, res) => {
    const t = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''))
    if (!t) return res.json(401, { message: 'Invalid or expired token' })
    const ctx = req.headers['ib-context']
    const context = Array.isArray(ctx) ? ctx[0] : ctx
    if (context !== undefined && !t.contexts.includes(context)) return res.json(401, { message: `Invalid IB-Context: ${context}` })
    if (!t.units) return res.json(403, { message: 'Insufficient consumption units' })
    if (req.path === '/api/v2/batches' && req.method === 'GET') {
      const limit = Number(req.query.get('limit') ?? 20)
      const batches = [
        {
          id: 123,
          name: 'invoices',
          workspace: 'my-repo',
          mount_point: 'Default Drive',
          repo_owner: 'john.doe',
          batch_owner: 'john.doe',
          created_at_ms: 0,
          updated_at_ms: 0,
          path_suffix: 'invoices',
        },
      ]
      return res.json(200, { batches: batches.slice(0, limit) })
    }
    return res.json(404, { message: 'Not found' })
  })
  return Object.assign(emu, { apiUrl: `${emu.url}/api`, tokens })
}
