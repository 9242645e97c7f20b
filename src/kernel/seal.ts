import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import type { TokenSet } from './types.js'

/** An AES-256-GCM sealed token; the key is HKDF-SHA256(material, salt, info). */
export interface Sealed {
  salt: string
  iv: string
  tag: string
  ct: string
}

function key(material: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, salt, info, 32))
}

/** Encrypts any JSON value under key material; `info` binds it to its place (AAD too). */
export function sealJson(value: unknown, material: Buffer, info: string): Sealed {
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key(material, salt, info), iv)
  c.setAAD(Buffer.from(info))
  const ct = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()])
  return { salt: salt.toString('base64'), iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') }
}

/** The value, or undefined for another key, another place, or damage (a miss, never an error). */
export function openJson(s: Sealed, material: Buffer, info: string): unknown {
  try {
    const d = createDecipheriv('aes-256-gcm', key(material, Buffer.from(s.salt, 'base64'), info), Buffer.from(s.iv, 'base64'))
    d.setAAD(Buffer.from(info))
    d.setAuthTag(Buffer.from(s.tag, 'base64'))
    return JSON.parse(Buffer.concat([d.update(Buffer.from(s.ct, 'base64')), d.final()]).toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

export function sealToken(token: TokenSet, material: Buffer, info: string): Sealed {
  return sealJson(token, material, info)
}

export function openToken(s: Sealed, material: Buffer, info: string): TokenSet | undefined {
  const tok = openJson(s, material, info) as TokenSet | undefined
  return tok && typeof tok.accessToken === 'string' ? tok : undefined
}
