/** Display form of a secret: at most its last 4 characters (aws-vault FormatKeyForDisplay). */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '****'
  return `****${secret.slice(-4)}`
}

/** Query parameters whose values are secrets; redacted in debug logs. */
const SECRET_PARAMS = /^(client_secret|code|refresh_token|access_token|token|password|api_key|key|state)$/i

/** A URL fit for a debug line: credentials and secret query values replaced by `***`. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw)
    if (url.username || url.password) {
      url.username = '***'
      url.password = ''
    }
    for (const name of [...url.searchParams.keys()]) {
      if (SECRET_PARAMS.test(name)) url.searchParams.set(name, '***')
    }
    return url.toString()
  } catch {
    return '<invalid url>'
  }
}
