import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { tempDir } from './tmp.js'

/**
 * A self-signed certificate (EC P-256, valid one day) for `cn`, with `san` as its
 * subjectAltName when given, made by openssl in a temp dir of its own. The certificate is its
 * own CA: give `cert` to a client as the CA to trust (NODE_EXTRA_CA_CERTS, `tls.ca`).
 */
export function selfSignedCert(cn: string, san?: string): { key: string; cert: string } {
  const dir = tempDir('tls-')
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') }
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-subj', `/CN=${cn}`, '-keyout', files.key, '-out', files.cert],
      ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    ],
    { stdio: 'ignore' },
  )
  return files
}
