import { ProviderHttpError, UsageError } from './errors.js'

/**
 * Trust rules for data from outside (CONTRACT 0.2 "Trust rules"): text from a server is data,
 * not terminal input; tokens are printable; expiries are sane; path segments are plain.
 */

/**
 * ESC sequences (CSI `ESC [ … final`, OSC/DCS/SOS/PM/APC strings up to BEL or ST, and two-byte
 * escapes), their 8-bit C1 forms, then any remaining C0/C1 control character or DEL. Tab stays.
 */
const ESCAPES =
  // eslint-disable-next-line no-control-regex
  /\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?|[\x1b][\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?/g
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g

/** `s` with ESC sequences and C0/C1 control characters removed (tab kept). */
export function cleanText(s: string): string {
  return s.replace(ESCAPES, '').replace(CONTROLS, '')
}

/** Like cleanText, but keeps line breaks: for multi-line messages we compose ourselves. */
export function cleanLines(s: string): string {
  return s
    .split('\n')
    .map((l) => cleanText(l))
    .join('\n')
}

/** Every string inside a JSON-like value cleaned (for values that go into the config). */
export function cleanDeep<T>(value: T): T {
  if (typeof value === 'string') return cleanText(value) as T
  if (Array.isArray(value)) return value.map((v) => cleanDeep(v)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[cleanText(k)] = cleanDeep(v)
    return out as T
  }
  return value
}

/** JSON text with C1 controls and DEL escaped too (JSON.stringify escapes only C0). */
export function escapeJsonControls(json: string): string {
  // eslint-disable-next-line no-control-regex
  return json.replace(/[\x7f-\x9f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** The longest token accepted from a server. */
export const MAX_TOKEN_CHARS = 16384

/**
 * A token, API key or refresh token received from a server: 1–16384 characters of printable
 * ASCII without whitespace. Anything else is exit 5 `malformed token`; the value is not echoed.
 */
export function checkToken(value: unknown, what: string): string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= MAX_TOKEN_CHARS && /^[\x21-\x7e]+$/.test(value)) return value
  const why =
    typeof value !== 'string'
      ? 'not a string'
      : value.length === 0
        ? 'empty'
        : value.length > MAX_TOKEN_CHARS
          ? `longer than ${MAX_TOKEN_CHARS} characters`
          : 'contains whitespace, control or non-ASCII characters'
  throw new ProviderHttpError(`${what}: malformed token (${why}); nothing was stored`, {
    hint: 'the provider or something in between answered with an unusable token; try again, or check the endpoint URL',
  })
}

/** Expiries further away than this are not believed. */
export const MAX_EXPIRY_MS = 366 * 86_400_000
/** Lifetime assumed when no source gives a sane expiry. */
export const DEFAULT_LIFETIME_MS = 3600_000

/** `ms` (epoch) if finite, in the future and at most 366 days away; else undefined. */
export function saneAt(ms: unknown, now: number): number | undefined {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > now && ms - now <= MAX_EXPIRY_MS ? ms : undefined
}

/** Relative seconds (`expires_in`) → epoch ms, if finite, positive and at most 366 days. */
export function saneIn(seconds: unknown, now: number): number | undefined {
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 && seconds * 1000 <= MAX_EXPIRY_MS ? now + seconds * 1000 : undefined
}

/** The first sane candidate (already epoch ms or undefined), else one hour from now. */
export function pickExpiry(now: number, ...candidates: Array<number | undefined>): number {
  for (const c of candidates) if (saneAt(c, now) !== undefined) return c as number
  return now + DEFAULT_LIFETIME_MS
}

/** ISO-8601 for an epoch-ms value, or null when it is not a representable date (never throws). */
export function safeIso(ms: unknown): string | null {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return null
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

/** A date string from a server → ISO-8601, or null when it does not parse (never throws). */
export function isoFromText(text: string | undefined): string | null {
  return text === undefined ? null : safeIso(Date.parse(text))
}

/**
 * A value placed in a URL path (key id, org or project slug, company id): not empty, `.` or
 * `..`, and free of `/`, `\`, `%`, whitespace and control characters. Exit 2 otherwise,
 * before any request is made.
 */
export function checkSegment(value: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (value === '' || value === '.' || value === '..' || /[/\\%\s\x00-\x1f\x7f-\x9f]/.test(value)) {
    throw new UsageError(
      `${what} ${JSON.stringify(cleanText(value).slice(0, 80))} is not a valid id: it must not be empty, "." or "..", or contain /, \\, %, spaces or control characters`,
      {
        hint: `check the ${what}`,
      },
    )
  }
  return value
}
