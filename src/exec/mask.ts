import { Transform, type TransformCallback } from 'node:stream'

export const MASK = '***'

/**
 * Replaces every occurrence of the secrets in a byte stream with `***`, also when a secret is
 * split across writes: a tail that could be the start of a secret is held back until the next
 * chunk (or the end) decides. Works on latin1 strings, so any byte sequence survives intact.
 */
export class SecretMasker extends Transform {
  private secrets: string[] = []
  private maxLen = 0
  private carry = ''

  constructor(secrets: Iterable<string>) {
    super()
    this.add(...secrets)
  }

  /** Masks these too from now on (`exec --keep-fresh` adds each renewed token). */
  add(...secrets: string[]): void {
    const latin1 = secrets
      .filter((s) => s.length >= 4)
      .flatMap(secretForms)
      .map((s) => Buffer.from(s, 'utf8').toString('latin1'))
    // Longest first, so that a secret containing another is masked whole.
    this.secrets = [...new Set([...this.secrets, ...latin1])].sort((a, b) => b.length - a.length)
    this.maxLen = Math.max(0, ...this.secrets.map((s) => s.length))
  }

  /** Masks `text`; returns what can be emitted now and the tail to hold back. */
  mask(text: string, final: boolean): [string, string] {
    let out = ''
    let i = 0
    for (;;) {
      let at = -1
      let len = 0
      for (const s of this.secrets) {
        const j = text.indexOf(s, i)
        if (j >= 0 && (at < 0 || j < at)) {
          at = j
          len = s.length
        }
      }
      if (at < 0) break
      out += text.slice(i, at) + MASK
      i = at + len
    }
    const rest = text.slice(i)
    if (final) return [out + rest, '']
    let keep = Math.min(rest.length, this.maxLen - 1)
    for (; keep > 0; keep--) {
      const tail = rest.slice(rest.length - keep)
      if (this.secrets.some((s) => s.startsWith(tail))) break
    }
    return [out + rest.slice(0, rest.length - keep), rest.slice(rest.length - keep)]
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const [out, carry] = this.mask(this.carry + chunk.toString('latin1'), false)
    this.carry = carry
    if (out) this.push(Buffer.from(out, 'latin1'))
    cb()
  }

  override _flush(cb: TransformCallback): void {
    const [out] = this.mask(this.carry, true)
    this.carry = ''
    if (out) this.push(Buffer.from(out, 'latin1'))
    cb()
  }
}

/** True for a variable that holds a secret (token, key); `*_FILE` variables hold paths. */
export function isSecretVar(name: string): boolean {
  return /TOKEN|KEY|SECRET|PASSWORD/.test(name) && !name.endsWith('_FILE')
}

/**
 * A secret and the forms it takes when a child puts it in a URL or a form body: percent-encoded
 * (encodeURIComponent, and application/x-www-form-urlencoded, which also encodes `!'()~`), with
 * upper- and lower-case hex digits.
 */
export function secretForms(secret: string): string[] {
  const forms = new Set([secret])
  try {
    for (const enc of [encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]) {
      forms.add(enc)
      forms.add(enc.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()))
    }
  } catch {
    // a lone surrogate cannot be percent-encoded, so it never appears that way either
  }
  return [...forms]
}

/** The injected values that are secrets (tokens, keys), by variable name. */
export function secretValues(vars: Readonly<Record<string, string>>): string[] {
  return Object.entries(vars)
    .filter(([k]) => isSecretVar(k))
    .map(([, v]) => v)
}
