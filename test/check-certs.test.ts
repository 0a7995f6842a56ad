// `robotrunner check` on certificates made with openssl here: expired, nearly expired,
// a key that does not match, self-signed, a world-readable key. Each is a ✗ (or a warning)
// and the exit code follows. No redis_url: the embedded Redis needs no server for check.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { seriousStartupProblems } from '../src/check'
import { loadConfig } from '../src/config/load'
import { makeCerts, type Certs } from './helpers/certs'
import { runCheck, failedIds, exitFor, type CheckRun } from './helpers/check'
import { tmpDir } from './helpers/tmp'

const certs = makeCerts(t, 825)

const check = (t: tap.Test, overrides: Record<string, unknown>): Promise<CheckRun> =>
  runCheck(t, overrides, { certs, machineId: 'check-certs', token: 'tok-' + 'x'.repeat(40), licenseKey: 'LICENSE-SECRET-123' })
const failed = failedIds

/** A certificate for the test CA's server key, valid between two dates in the past: openssl 3.0's x509 cannot, `openssl ca` can. */
function issuePast (c: Certs, dir: string, start: string, end: string): string {
  fs.writeFileSync(path.join(dir, 'index.txt'), '')
  fs.writeFileSync(path.join(dir, 'serial'), '1000\n')
  fs.writeFileSync(path.join(dir, 'ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n')
  fs.writeFileSync(path.join(dir, 'ext'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n')
  execFileSync('openssl', ['req', '-new', '-key', c.key, '-subj', '/CN=localhost', '-out', 'server.csr'], { cwd: dir, stdio: 'ignore' })
  execFileSync('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-cert', c.ca, '-keyfile', path.join(c.dir, 'ca-key.pem'), '-in', 'server.csr',
    '-out', 'expired.pem', '-startdate', start, '-enddate', end, '-notext', '-extfile', 'ext'], { cwd: dir, stdio: 'ignore' })
  return path.join(dir, 'expired.pem')
}

t.test('good certificates: every certificate item ✓, exit 0', async (t) => {
  const { code, items } = await check(t, {})
  for (const id of ['tls.files', 'tls.key_match', 'tls.chain', 'tls.self_signed', 'tls.expiry', 'tls.key_perms']) t.equal(items.get(id)?.status, 'ok', id)
  t.match(items.get('tls.expiry')!.reason, /8\d\d days left/)
  t.same(failed(items), [])
  t.equal(code, exitFor(items), 'exit 0 (unless this machine runs systemd without our unit)')
})

t.test('an expired certificate: ✗ tls.expiry, exit 1, and a start-up line', async (t) => {
  const cert = issuePast(certs, tmpDir(t, 'rr-ca'), '20200101000000Z', '20200201000000Z')
  const { code, items, configPath } = await check(t, { cert_file: cert })
  t.same(failed(items), ['tls.expiry'], 'only the expiry fails: the chain and key are fine')
  t.match(items.get('tls.expiry')!.reason, /^expired on 2020-02-01T00:00:00\.000Z \(\d+ days ago\)$/)
  t.match(items.get('tls.expiry')!.fix, /renew/)
  t.equal(code, 1)

  const lines = await seriousStartupProblems(loadConfig({ argv: ['--config', configPath], env: {} }).config)
  t.equal(lines.length, 1)
  t.match(lines[0], /^check failed: the certificate is valid .*: expired on 2020-02-01/)
})

t.test('under 7 days left is ✗, under 30 a warning that does not fail', async (t) => {
  const soon = await check(t, { ...paths(makeCerts(t, 3)) })
  t.equal(soon.items.get('tls.expiry')!.status, 'fail')
  t.match(soon.items.get('tls.expiry')!.reason, /: 2 days left \(under 7\)$/)
  t.equal(soon.code, 1)

  const month = await check(t, { ...paths(makeCerts(t, 20)) })
  t.equal(month.items.get('tls.expiry')!.status, 'warn')
  t.match(month.items.get('tls.expiry')!.reason, /: 19 days left \(under 30\)$/)
  t.same(failed(month.items), [])
  t.equal(month.code, exitFor(month.items), 'a warning does not fail')
})

t.test('a key that does not match the certificate: ✗ tls.key_match, exit 1', async (t) => {
  const dir = tmpDir(t, 'rr-key')
  const other = path.join(dir, 'other-key.pem')
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other], { stdio: 'ignore' })
  fs.chmodSync(other, 0o600)
  const { code, items } = await check(t, { key_file: other })
  t.same(failed(items), ['tls.key_match'])
  t.match(items.get('tls.key_match')!.reason, /other-key\.pem is not the key of .*cert\.pem/)
  t.equal(code, 1)
})

t.test('a self-signed server certificate: ✗ tls.self_signed (and the chain), exit 1', async (t) => {
  const dir = tmpDir(t, 'rr-self')
  const self = path.join(dir, 'self.pem')
  execFileSync('openssl', ['req', '-x509', '-new', '-key', certs.key, '-subj', '/CN=localhost', '-days', '400', '-out', self], { stdio: 'ignore' })
  const { code, items } = await check(t, { cert_file: self })
  t.same(failed(items).sort(), ['tls.chain', 'tls.self_signed'])
  t.match(items.get('tls.self_signed')!.reason, /self\.pem is self-signed \(CN=localhost\)/)
  t.equal(items.get('tls.key_match')!.status, 'ok')
  t.equal(code, 1)
})

t.test('a world-readable key: ✗ tls.key_perms with the chmod, exit 1', async (t) => {
  const dir = tmpDir(t, 'rr-perm')
  const key = path.join(dir, 'key.pem')
  fs.copyFileSync(certs.key, key)
  fs.chmodSync(key, 0o644)
  const { code, items } = await check(t, { key_file: key })
  t.same(failed(items), ['tls.key_perms'])
  t.match(items.get('tls.key_perms')!.reason, /has mode 0644: group or others can read the private key/)
  t.equal(items.get('tls.key_perms')!.fix, `chmod 600 ${key}`)
  t.equal(code, 1)
})

t.test('a missing certificate: the config ✗ and the certificate ✗ say why; the rest still runs', async (t) => {
  const { code, items } = await check(t, { cert_file: '/nonexistent/cert.pem' })
  t.same(failed(items), ['config', 'tls.files'])
  t.match(items.get('config')!.reason, /cert_file \(file .*\): cannot read \/nonexistent\/cert\.pem: ENOENT/)
  t.match(items.get('tls.files')!.reason, /cert_file: cannot read \/nonexistent\/cert\.pem: ENOENT/)
  t.equal(items.get('tls.key_match')!.status, 'unknown')
  t.equal(items.get('port')!.status, 'ok', 'later checks ran')
  t.equal(code, 1)
})

function paths (c: Certs): Record<string, string> {
  return { cert_file: c.cert, key_file: c.key, ca_cert: c.ca }
}
