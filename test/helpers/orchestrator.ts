// A fake orchestrator for notification tests: a real mTLS HTTPS server on 127.0.0.1
// that requires a client certificate from the runner's CA, checks the HMAC signature and
// records every arrival. It can start late, answer non-2xx for a while, or go away.
import { execFileSync } from 'node:child_process'
import { createHmac, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import type net from 'node:net'
import path from 'node:path'
import type { Certs } from './certs'
import { freePort } from './free-port'

export interface Arrival {
  body: any // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: IncomingHttpHeaders
  /** Date.now() when the request ended */
  at: number
  signatureOk: boolean
  /** what the fake answered */
  answered: number
}

export interface Orchestrator {
  port: number
  url: string
  arrivals: Arrival[]
  /** TCP connections accepted, including handshakes that failed */
  connections: number
  /** the runner's token, to check signatures; set it before listen() */
  token: string
  /** status code to answer with (200 unless a test makes it fail); 0 = never answer */
  answer: number
  listen: () => Promise<void>
  close: () => Promise<void>
}

interface T { teardown: (fn: () => unknown) => void }

/**
 * serverCerts: whose cert.pem/key.pem it serves (another CA's to test a bad server
 * certificate); clientCa: the CA the runner's client certificate must chain to.
 */
export async function makeOrchestrator (t: T, opts: { serverCerts: Certs, clientCa: string }): Promise<Orchestrator> {
  const port = await freePort()
  const sockets = new Set<net.Socket>()
  let server: https.Server | undefined
  const o: Orchestrator = {
    port,
    url: `https://127.0.0.1:${port}/hooks/robot-status`,
    arrivals: [],
    connections: 0,
    token: '',
    answer: 200,
    listen: async () => {
      if (o.token === '') throw new Error('set the orchestrator token before listen()')
      server = https.createServer({
        cert: fs.readFileSync(opts.serverCerts.cert),
        key: fs.readFileSync(opts.serverCerts.key),
        ca: fs.readFileSync(opts.clientCa),
        requestCert: true,
        rejectUnauthorized: true
      }, (req, res) => {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          const raw = Buffer.concat(chunks)
          const signatureOk = verifySignature(raw, o.token, req.headers['x-robotrunner-signature'])
          const answered = signatureOk ? o.answer : 401
          let body: unknown
          try { body = JSON.parse(raw.toString('utf8')) } catch { body = raw.toString('utf8') }
          o.arrivals.push({ body, headers: req.headers, at: Date.now(), signatureOk, answered })
          if (answered !== 0) res.writeHead(answered, { 'content-type': 'application/json' }).end('{}')
        })
      })
      server.on('connection', (s: net.Socket) => {
        o.connections++
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
      })
      server.on('tlsClientError', () => {})
      const srv = server
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject)
        srv.listen(port, '127.0.0.1', () => resolve())
      })
    },
    close: async () => {
      const srv = server
      server = undefined
      if (srv === undefined) return
      // Keep-alive sockets too: the runner must see the orchestrator gone.
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => srv.close(resolve))
    }
  }
  t.teardown(o.close)
  return o
}

export function verifySignature (raw: Buffer, token: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false
  const want = createHmac('sha256', token).update(raw).digest()
  const got = Buffer.from(header.slice('sha256='.length), 'hex')
  return got.length === want.length && timingSafeEqual(got, want)
}

/**
 * Arrivals the orchestrator accepted (2xx), de-duplicated by notification id as an
 * orchestrator would, grouped per execution id ('machine' for machine events), in
 * arrival order.
 */
export function accepted (o: Orchestrator): Map<string, any[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const seen = new Set<string>()
  const out = new Map<string, any[]>() // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const a of o.arrivals) {
    if (a.answered < 200 || a.answered >= 300 || seen.has(a.body.id)) continue
    seen.add(a.body.id)
    const key = a.body.event === 'machine.status' ? 'machine' : a.body.execution.id
    const list = out.get(key) ?? []
    list.push({ ...a.body, at: a.at })
    out.set(key, list)
  }
  return out
}

/**
 * The runner's own certificate, also valid as a client certificate (extendedKeyUsage
 * serverAuth + clientAuth), issued by the same test CA: the runner presents its
 * cert_file to the orchestrator, and a TLS server checks the clientAuth purpose.
 * scripts/gen-certs' cert.pem is serverAuth only.
 */
export function dualUseCerts (certs: Certs): Certs {
  const dir = certs.dir
  const key = path.join(dir, 'runner-key.pem')
  const cert = path.join(dir, 'runner-cert.pem')
  const csr = path.join(dir, 'runner.csr')
  const ext = path.join(dir, 'runner.ext')
  fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n')
  const run = (args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
  run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key])
  run(['req', '-new', '-key', key, '-subj', '/CN=localhost', '-out', csr])
  run(['x509', '-req', '-in', csr, '-CA', certs.ca, '-CAkey', path.join(dir, 'ca-key.pem'), '-CAcreateserial', '-CAserial', path.join(dir, 'runner.srl'),
    '-days', '30', '-sha256', '-extfile', ext, '-out', cert])
  fs.chmodSync(key, 0o600)
  return { ...certs, cert, key }
}

/** Value at fraction q (0..1) of the sorted numbers. */
export function quantile (values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}
