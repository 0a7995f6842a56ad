// Real certificates per test run, made by the project's own scripts/gen-certs.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { tmpDir } from './tmp'

export interface Certs {
  dir: string
  ca: string
  cert: string
  key: string
  clientCert: string
  clientKey: string
}

const ROOT = path.resolve(__dirname, '..', '..')

export function makeCerts (t: { teardown: (fn: () => unknown) => void }, days = 30): Certs {
  const dir = tmpDir(t, 'rr-certs')
  execFileSync(path.join(ROOT, 'scripts', 'gen-certs'), [dir, String(days)], { stdio: 'ignore' })
  return {
    dir,
    ca: path.join(dir, 'ca-cert.pem'),
    cert: path.join(dir, 'cert.pem'),
    key: path.join(dir, 'key.pem'),
    clientCert: path.join(dir, 'client-cert.pem'),
    clientKey: path.join(dir, 'client-key.pem')
  }
}
