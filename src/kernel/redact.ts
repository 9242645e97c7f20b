/** Display form of a secret: at most its last 4 characters (aws-vault FormatKeyForDisplay). */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '****'
  return `****${secret.slice(-4)}`
}

/**
 * Display form of a key as its provider masks it (LupaSearch's `visibleKey`): kept when it shows
 * 4 characters of the key or fewer, else cut down to its last characters (at most 4) after `****`:
 * authctl holds to "at most the last 4" whatever form, or whole key, a server sends.
 */
export function maskVisible(visible: string): string {
  const shown = visible.replace(/[*•…]/gu, '')
  if (shown.length === 0) return '****'
  if (shown.length <= 4) return visible
  const tail = /[^*•…]{1,4}$/u.exec(visible)?.[0] ?? ''
  return `****${tail}`
}

/**
 * Query parameters whose values are secrets: any name containing password, token, secret,
 * key, code (CONTRACT "URLs in messages"), plus the usual spellings of the same things.
 */
const SECRET_PARAM = /pass(word|wd)?|pwd|token|secret|key|code|signature|sig$|auth|credential|state/i

/** Names of the query parameters of `url` whose values are secrets (in order, each once). */
export function secretQueryParams(url: URL): string[] {
  return [...new Set(url.searchParams.keys())].filter((name) => SECRET_PARAM.test(name))
}

/** A URL fit for a message or a debug line: userinfo and secret query values replaced by `***`. */
export function redactUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return redactUrlText(raw)
  }
  // `user:pw@host:3128` parses as scheme `user:` with an opaque path: redact it as text.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return redactUrlText(raw)
  // `user:pw@` → `***@`; a password alone (`:pw@`, Redis) → `:***@`: redacting twice changes nothing.
  if (url.username) {
    url.username = '***'
    url.password = ''
  } else if (url.password) url.password = '***'
  for (const name of secretQueryParams(url)) url.searchParams.set(name, '***')
  return url.toString()
}

/**
 * The same redaction on text that may not parse as a URL (a mistyped variable): anything
 * between `//` and `@` goes, and so do the values of secret-looking `name=value` pairs.
 */
export function redactUrlText(raw: string): string {
  return raw
    .replace(/(^|\/\/)[^/?#@\s]*@/, (_m, p: string) => `${p}***@`)
    .replace(/([?&;]|^)([^=&;?#\s]*)=([^&;#\s]*)/g, (m, sep: string, name: string) => (SECRET_PARAM.test(name) ? `${sep}${name}=***` : m))
}

/** Every `scheme://…` URL inside a message, redacted (the safety net for error and warning text). */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (u) => redactUrl(u))
}
