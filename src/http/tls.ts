// TLS options for the HTTPS server and facts about the served certificate.
import fs from 'node:fs'
import { X509Certificate } from 'node:crypto'
import type { SecureContextOptions, TlsOptions } from 'node:tls'
import type { Config } from '../config/settings'
import { WorkerConfigError } from '../worker-runtime'

export interface ServedCertificate {
  not_after: string
  days_left: () => number
}

const DAY_MS = 24 * 3600 * 1000

export function loadTls (c: Config): { options: TlsOptions, certificate: ServedCertificate } {
  const read = (key: 'cert_file' | 'key_file' | 'ca_cert'): Buffer => {
    try {
      return fs.readFileSync(c[key])
    } catch (err) {
      throw new WorkerConfigError(`${key}: cannot read ${c[key]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    }
  }
  const cert = read('cert_file')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new WorkerConfigError(`cert_file: ${c.cert_file} is not a PEM certificate: ${(err as Error).message}`)
  }
  const notAfter = new Date(x509.validTo)
  const options: TlsOptions & SecureContextOptions = {
    cert,
    key: read('key_file'),
    ca: read('ca_cert'),
    // Always ask for a client certificate; 'required' also fails the handshake without a valid one.
    requestCert: true,
    rejectUnauthorized: c.client_auth === 'required',
    minVersion: 'TLSv1.2'
  }
  return {
    options,
    certificate: {
      not_after: notAfter.toISOString(),
      days_left: () => Math.floor((notAfter.getTime() - Date.now()) / DAY_MS)
    }
  }
}
