// Authentication for /api/* and /metrics: a verified client certificate (when TLS is on)
// AND the bearer token, compared in constant time. Missing -> 401, wrong token -> 403.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { rrError } from '../errors'

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export function makeAuthHook (token: string, requireClientCert: boolean) {
  // Hashing both sides gives equal-length buffers, so timingSafeEqual never throws
  // and the comparison time does not depend on where the strings differ.
  const expected = digest(token)
  return async function authenticate (req: FastifyRequest): Promise<void> {
    if (requireClientCert && !(req.raw.socket as TLSSocket).authorized) throw rrError('RR_CLIENT_CERT_REQUIRED')
    const header = req.headers.authorization
    if (header === undefined || !/^Bearer /i.test(header)) throw rrError('RR_AUTH_REQUIRED')
    if (!timingSafeEqual(digest(header.slice(7).trim()), expected)) throw rrError('RR_AUTH_INVALID')
  }
}

interface PeerInfo { key?: string, cn?: string }

// getPeerCertificate() builds a fresh JS object from the X509 on every call (tens of µs);
// the peer of a TLS connection never changes, so it is read once per connection.
const peers = new WeakMap<TLSSocket, PeerInfo>()

export function peerInfo (socket: TLSSocket): PeerInfo {
  let info = peers.get(socket)
  if (info === undefined) {
    info = {}
    if (socket.authorized === true) {
      const cert = socket.getPeerCertificate()
      if (cert.fingerprint256) info.key = `cert:${cert.fingerprint256}`
      info.cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined
    }
    peers.set(socket, info)
  }
  return info
}

/** The rate-limit identity of a client: its certificate fingerprint, else its IP. */
export function clientKey (req: FastifyRequest): string {
  return peerInfo(req.raw.socket as TLSSocket).key ?? `ip:${req.ip}`
}
