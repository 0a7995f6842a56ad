// A real HTTPS client with (or without) a client certificate.
import fs from 'node:fs'
import https from 'node:https'
import type { Certs } from './certs'

export interface Response {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: () => any // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  method?: string
  path: string
  token?: string
  headers?: Record<string, string>
  body?: unknown
  /** client certificate to present: the runner's CA's client cert (default), none, or another CA's */
  clientCerts?: Certs | null
  agent?: https.Agent
  timeoutMs?: number
}

export function makeClient (port: number, serverCerts: Certs) {
  const ca = fs.readFileSync(serverCerts.ca)
  const own = { cert: fs.readFileSync(serverCerts.clientCert), key: fs.readFileSync(serverCerts.clientKey) }
  const pemCache = new Map<string, { cert: Buffer, key: Buffer }>()
  const pems = (c: Certs): { cert: Buffer, key: Buffer } => {
    if (c === serverCerts) return own
    let p = pemCache.get(c.dir)
    if (p === undefined) {
      p = { cert: fs.readFileSync(c.clientCert), key: fs.readFileSync(c.clientKey) }
      pemCache.set(c.dir, p)
    }
    return p
  }
  return function request (opts: RequestOptions): Promise<Response> {
    const clientCerts = opts.clientCerts === undefined ? serverCerts : opts.clientCerts
    const headers: Record<string, string> = { ...opts.headers }
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
    let payload: string | undefined
    if (opts.body !== undefined) {
      payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)
      headers['content-type'] ??= 'application/json'
    }
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        servername: 'localhost',
        port,
        method: opts.method ?? (payload !== undefined ? 'POST' : 'GET'),
        path: opts.path,
        headers,
        ca,
        ...(clientCerts !== null ? pems(clientCerts) : {}),
        agent: opts.agent ?? false,
        timeout: opts.timeoutMs ?? 10_000
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) })
        })
      })
      req.on('timeout', () => req.destroy(new Error('request timed out')))
      req.on('error', reject)
      req.end(payload)
    })
  }
}
