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

/** The rate-limit identity of a client: its certificate fingerprint, else its IP. */
export function clientKey (req: FastifyRequest): string {
  const socket = req.raw.socket as TLSSocket
  if (socket.authorized === true) {
    const fp = socket.getPeerCertificate().fingerprint256
    if (fp) return `cert:${fp}`
  }
  return `ip:${req.ip}`
}
