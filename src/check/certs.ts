// Certificates: files parse, key matches, chain reaches ca_cert, not self-signed,
// not expired (days left), private key readable by its owner only.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import fs from 'node:fs'
import type { Config } from '../config/settings'
import { currentUser, userName } from './fs-facts'
import { blocked, fail, ok, unknown, warn, type CheckItem } from './item'

const DAY_MS = 24 * 3600 * 1000
export const FAIL_UNDER_DAYS = 7
export const WARN_UNDER_DAYS = 30
const RENEW = 'renew it from your CA, replace cert_file and restart robotrunner'

interface Parsed {
  chain: X509Certificate[]
  key: KeyObject
  cas: X509Certificate[]
}

export function checkCertificates (c: Config, now = Date.now()): CheckItem[] {
  if (!c.ssl_enabled) {
    return [warn('tls', 'HTTPS with certificates from your CA', 'ssl_enabled is false: the API is served over plain HTTP', 'set ssl_enabled to true with cert_file, key_file and ca_cert from your CA')]
  }
  const problems: string[] = []
  const chain = readCerts(c.cert_file, 'cert_file', problems)
  const cas = readCerts(c.ca_cert, 'ca_cert', problems)
  const key = readKey(c.key_file, problems)
  const title = 'certificate, key and CA files are readable PEM'
  const valid = problems.length === 0 && chain.length > 0 && cas.length > 0 && key !== undefined
  return [
    valid
      ? ok('tls.files', title, `${c.cert_file} (${name(chain[0].subject)}), ${c.key_file} (${key.asymmetricKeyType ?? 'key'}), ${c.ca_cert} (${cas.length} certificate${cas.length === 1 ? '' : 's'})`)
      : fail('tls.files', title, problems.join('; '), 'point cert_file, key_file and ca_cert at the PEM files from your CA, readable by the service user'),
    ...certificateItems(c, valid ? { chain, key, cas } : undefined, now),
    keyFileItem(c.key_file)
  ]
}

function certificateItems (c: Config, p: Parsed | undefined, now: number): CheckItem[] {
  const titles = {
    match: 'key_file is the private key of cert_file',
    chain: 'the certificate chains to ca_cert',
    self: 'the server certificate is not self-signed',
    expiry: `the certificate is valid for at least ${WARN_UNDER_DAYS} more days`
  }
  if (p === undefined) {
    const because = 'the certificate files do not parse'
    return [blocked('tls.key_match', titles.match, because), blocked('tls.chain', titles.chain, because), blocked('tls.self_signed', titles.self, because), blocked('tls.expiry', titles.expiry, because)]
  }
  const leaf = p.chain[0]
  const items: CheckItem[] = []
  items.push(leaf.checkPrivateKey(p.key)
    ? ok('tls.key_match', titles.match, 'the key matches the certificate\'s public key')
    : fail('tls.key_match', titles.match, `${c.key_file} is not the key of ${c.cert_file} (${name(leaf.subject)})`, 'point key_file at the key the certificate was issued for, or have the certificate re-issued for this key'))

  const path = chainTo(p.chain, p.cas)
  items.push(path !== undefined
    ? ok('tls.chain', titles.chain, path.map((x) => name(x.subject)).join(' <- '))
    : fail('tls.chain', titles.chain, `${name(leaf.subject)} (issuer ${name(leaf.issuer)}) does not chain to ${c.ca_cert} (${p.cas.map((x) => name(x.subject)).join(', ')})`,
      'use the certificate your CA issued, append its intermediate certificates to cert_file, or set ca_cert to that CA'))

  items.push(selfSigned(leaf)
    ? fail('tls.self_signed', titles.self, `${c.cert_file} is self-signed (${name(leaf.subject)})`, 'use a certificate issued by your CA (the deployment guide: valid certificates, not self-signed)')
    : ok('tls.self_signed', titles.self, `issued by ${name(leaf.issuer)}`))
  items.push(expiryItem(titles.expiry, leaf, now))
  return items
}

export function daysLeft (cert: X509Certificate, now: number): number {
  return Math.floor((new Date(cert.validTo).getTime() - now) / DAY_MS)
}

function expiryItem (title: string, leaf: X509Certificate, now: number): CheckItem {
  const notBefore = new Date(leaf.validFrom)
  const notAfter = new Date(leaf.validTo)
  const until = notAfter.toISOString()
  const days = daysLeft(leaf, now)
  if (notBefore.getTime() > now) return fail('tls.expiry', title, `not valid before ${notBefore.toISOString()}`, 'check the machine clock, or use a certificate valid now')
  if (notAfter.getTime() <= now) return fail('tls.expiry', title, `expired on ${until} (${Math.ceil((now - notAfter.getTime()) / DAY_MS)} days ago)`, RENEW)
  if (days < FAIL_UNDER_DAYS) return fail('tls.expiry', title, `expires on ${until}: ${days} days left (under ${FAIL_UNDER_DAYS})`, RENEW)
  if (days < WARN_UNDER_DAYS) return warn('tls.expiry', title, `expires on ${until}: ${days} days left (under ${WARN_UNDER_DAYS})`, RENEW)
  return ok('tls.expiry', title, `valid until ${until}: ${days} days left`)
}

function keyFileItem (file: string): CheckItem {
  const title = 'key_file has mode 0600 and belongs to the service user'
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch (err) {
    return blocked('tls.key_perms', title, `cannot stat ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  const mode = `0${(stat.mode & 0o777).toString(8)}`
  if ((stat.mode & 0o077) !== 0) return fail('tls.key_perms', title, `${file} has mode ${mode}: group or others can read the private key`, `chmod 600 ${file}`)
  const me = process.getuid?.() ?? 0
  const owner = userName(stat.uid)
  if (stat.uid === me || stat.uid === 0) return ok('tls.key_perms', title, `mode ${mode}, owner ${owner}`)
  // root can read any key, so from root we cannot tell whether this owner is the service's user.
  if (me === 0) return unknown('tls.key_perms', title, `mode ${mode}, owner ${owner}: run check as the service user to confirm it is its owner`, `sudo -u ${owner} robotrunner check`)
  return fail('tls.key_perms', title, `${file} belongs to ${owner}, not to ${currentUser()} (who runs this check) or root`, `chown ${currentUser()} ${file}`)
}

/** leaf <- intermediates ... <- a certificate of ca_cert, or undefined. */
function chainTo (chain: X509Certificate[], cas: X509Certificate[]): X509Certificate[] | undefined {
  const path = [chain[0]]
  const pool = [...chain.slice(1), ...cas]
  for (let depth = 0; depth < 8; depth++) {
    const current = path[path.length - 1]
    const anchor = cas.find((ca) => issued(ca, current))
    if (anchor !== undefined) return current === anchor ? path : [...path, anchor]
    const next = pool.find((x) => !path.includes(x) && issued(x, current))
    if (next === undefined) return undefined
    path.push(next)
  }
  return undefined
}

function issued (issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey)
}

function selfSigned (cert: X509Certificate): boolean {
  return issued(cert, cert)
}

const name = (dn: string): string => dn.split('\n').join(', ')

function readCerts (file: string, key: string, problems: string[]): X509Certificate[] {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    return []
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) problems.push(`${key}: ${file} holds no PEM certificate`)
  const certs: X509Certificate[] = []
  for (const block of blocks) {
    try {
      certs.push(new X509Certificate(block))
    } catch (err) {
      problems.push(`${key}: ${file} has a certificate that does not parse: ${(err as Error).message}`)
    }
  }
  return certs
}

function readKey (file: string, problems: string[]): KeyObject | undefined {
  let pem: Buffer
  try {
    pem = fs.readFileSync(file)
  } catch (err) {
    problems.push(`key_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    return undefined
  }
  try {
    return createPrivateKey(pem)
  } catch (err) {
    problems.push(`key_file: ${file} is not a PEM private key: ${(err as Error).message}`)
    return undefined
  }
}
