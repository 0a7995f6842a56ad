// Readiness proof of a new http worker: GET /health answered by this very process over its
// real TLS (the certificate and key it just loaded), before it tells the supervisor it is
// ready. The shared port cannot be used for that (the cluster hands a connection to any
// worker, possibly an old one), so the probe goes through a private loopback listener
// whose requests this worker's Fastify instance answers. The listener uses the same TLS
// options except that it does not ask for a client certificate: the worker has none to
// present (with client_auth "required" the real port would refuse the handshake).
import { X509Certificate } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket, TlsOptions } from 'node:tls'
import type { FastifyInstance } from 'fastify'

const PROBE_TIMEOUT_MS = 5000

/** Resolves with the probe's duration in ms; rejects with what went wrong. */
export async function probeSelf (app: FastifyInstance, tlsOptions: TlsOptions | undefined): Promise<number> {
  const started = Date.now()
  const handler = (req: IncomingMessage, res: ServerResponse): void => { app.server.emit('request', req, res) }
  const server = tlsOptions !== undefined
    ? https.createServer({ ...tlsOptions, requestCert: false, rejectUnauthorized: false }, handler)
    : http.createServer(handler)
  // exclusive: a port of this process only, not one shared through the cluster primary.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, resolve)
  })
  try {
    const { port } = server.address() as AddressInfo
    const { status, body, fingerprint } = await get(port, tlsOptions !== undefined)
    if (status !== 200 || (JSON.parse(body) as { status?: string }).status !== 'ok') throw new Error(`GET /health answered ${status}: ${body.slice(0, 200)}`)
    if (tlsOptions !== undefined) {
      const expected = new X509Certificate(tlsOptions.cert as Buffer).fingerprint256
      if (fingerprint !== expected) throw new Error('the probe saw another certificate than cert_file')
    }
    return Date.now() - started
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

function get (port: number, secure: boolean): Promise<{ status: number, body: string, fingerprint: string | undefined }> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: '/health', agent: false, timeout: PROBE_TIMEOUT_MS }
    // The served certificate need not chain to ca_cert (that CA is for clients): the probe
    // compares its fingerprint with cert_file instead.
    const req = secure ? https.get({ ...options, rejectUnauthorized: false }, onResponse) : http.get(options, onResponse)
    function onResponse (res: IncomingMessage): void {
      const fingerprint = secure ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256 : undefined
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), fingerprint }))
    }
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)))
    req.on('error', reject)
  })
}
