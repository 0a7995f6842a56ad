// The reference server: a bare node:https cluster, the same worker count, certificates
// and client-certificate verification as the runner, doing the least a server can do:
//   GET /status         -> 401 without a verified client certificate, 403 with a wrong
//                          bearer token, else 200 with a fixed JSON body (the runner's
//                          /api/status body, so the same size)
//   GET /stream?bytes=N -> text/event-stream frames like the runner's log follow, about N
//                          payload bytes, written as fast as the client reads
// Prints {"ready":true} once every worker listens; exits on SIGTERM or when stdin closes.
//   node bare-server.js '<BareOptions JSON>'
import cluster from 'node:cluster'
import fs from 'node:fs'
import https from 'node:https'
import type { TLSSocket } from 'node:tls'

export interface BareOptions {
  port: number
  workers: number
  cert: string
  key: string
  ca: string
  token: string
  statusBody: string
  keepAliveMs: number
}

/** One SSE event as the runner sends it: ~16 KiB of 100-byte robot lines with timestamps. */
function frame (seq: number): string {
  const line = `data: ${new Date().toISOString()} [out] ${'x'.repeat(99)}`
  return `id: ${Date.now()}-${seq}\n${Array.from({ length: 120 }, () => line).join('\n')}\n\n`
}

function worker (o: BareOptions): void {
  const expected = `Bearer ${o.token}`
  const body = Buffer.from(o.statusBody)
  const server = https.createServer({
    cert: fs.readFileSync(o.cert),
    key: fs.readFileSync(o.key),
    ca: fs.readFileSync(o.ca),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2'
  }, (req, res) => {
    if (!(req.socket as TLSSocket).authorized) { res.writeHead(401).end(); return }
    if (req.headers.authorization !== expected) { res.writeHead(403).end(); return }
    if (req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length }).end(body)
      return
    }
    const m = /^\/stream\?bytes=(\d+)$/.exec(req.url ?? '')
    if (m === null) { res.writeHead(404).end(); return }
    const total = Number(m[1])
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
    let written = 0
    let seq = 0
    const pump = (): void => {
      while (written < total) {
        const f = frame(seq++)
        written += f.length
        if (!res.write(f)) { res.once('drain', pump); return }
      }
      res.end('event: end\ndata: {"status":"succeeded"}\n\n')
    }
    res.on('close', () => { written = total })
    pump()
  })
  server.keepAliveTimeout = o.keepAliveMs
  server.listen(o.port, '127.0.0.1', () => process.send?.({ listening: true }))
}

function primary (o: BareOptions): void {
  let listening = 0
  for (let i = 0; i < o.workers; i++) {
    cluster.fork().on('message', (m: { listening?: boolean }) => {
      if (m.listening === true && ++listening === o.workers) process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n')
    })
  }
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL')
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.stdin.on('end', stop)
  process.stdin.resume()
}

const opts = JSON.parse(process.argv[2] ?? process.env.BARE_OPTIONS ?? '{}') as BareOptions
if (cluster.isPrimary) primary(opts)
else worker(opts)
