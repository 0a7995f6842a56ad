// A load generator run as its own process (so the test's event loop does not pace it):
// N clients, each one keep-alive mTLS connection sending authenticated requests back to
// back to 127.0.0.1 only, bounded in time and count. Prints one JSON summary on stdout.
//   node <ts loader> test/helpers/load-client.ts '<LoadOptions as JSON>'
import fs from 'node:fs'
import https from 'node:https'
import type { TLSSocket } from 'node:tls'

export interface LoadOptions {
  port: number
  ca: string
  cert: string
  key: string
  token: string
  clients: number
  durationMs: number
  /** hard cap on requests per client, so a fast machine cannot run away */
  maxPerClient: number
  path: string
}

export interface Failure { client: number, at: number, localPort: number | undefined, error: string }

export interface ClientSummary {
  requests: number
  failed: number
  /** local ports of the connections this client used, in order */
  ports: number[]
}

export interface LoadSummary {
  requests: number
  failed: number
  /** responses that carried Connection: close (a draining worker's) */
  connectionClose: number
  failures: Failure[]
  clients: ClientSummary[]
  startedAt: number
  endedAt: number
  latencyMs: { p50: number, p99: number, max: number }
}

const REQUEST_TIMEOUT_MS = 10_000

async function main (opts: LoadOptions): Promise<LoadSummary> {
  const tls = { ca: fs.readFileSync(opts.ca), cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }
  const startedAt = Date.now()
  const end = startedAt + opts.durationMs
  const failures: Failure[] = []
  const latencies: number[] = []
  let connectionClose = 0

  const client = async (index: number): Promise<ClientSummary> => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...tls })
    const summary: ClientSummary = { requests: 0, failed: 0, ports: [] }
    while (Date.now() < end && summary.requests < opts.maxPerClient) {
      const t0 = Date.now()
      const result = await request(agent, opts)
      summary.requests++
      latencies.push(Date.now() - t0)
      if (result.localPort !== undefined && summary.ports.at(-1) !== result.localPort) summary.ports.push(result.localPort)
      if (result.closing) connectionClose++
      if (result.error !== undefined) {
        summary.failed++
        failures.push({ client: index, at: t0, localPort: result.localPort, error: result.error })
      }
    }
    agent.destroy()
    return summary
  }

  const clients = await Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i)))
  latencies.sort((a, b) => a - b)
  const pick = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return {
    requests: clients.reduce((n, c) => n + c.requests, 0),
    failed: failures.length,
    connectionClose,
    failures: failures.slice(0, 50),
    clients,
    startedAt,
    endedAt: Date.now(),
    latencyMs: { p50: pick(0.5), p99: pick(0.99), max: latencies.at(-1) ?? 0 }
  }
}

function request (agent: https.Agent, opts: LoadOptions): Promise<{ error?: string, localPort?: number, closing: boolean }> {
  return new Promise((resolve) => {
    let localPort: number | undefined
    const req = https.get({
      host: '127.0.0.1',
      servername: 'localhost',
      port: opts.port,
      path: opts.path,
      agent,
      headers: { authorization: `Bearer ${opts.token}` },
      timeout: REQUEST_TIMEOUT_MS
    }, (res) => {
      localPort = (res.socket as TLSSocket).localPort
      const closing = res.headers.connection === 'close'
      res.resume()
      res.on('error', (err) => resolve({ error: `response: ${err.message}`, localPort, closing }))
      res.on('end', () => resolve({ error: res.statusCode === 200 ? undefined : `status ${String(res.statusCode)}`, localPort, closing }))
    })
    req.on('socket', (s) => { s.once('connect', () => { localPort = s.localPort }); localPort = s.localPort ?? localPort })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: `${err.code ?? ''} ${err.message}`.trim(), localPort, closing: false }))
  })
}

if (require.main === module) {
  main(JSON.parse(process.argv[2]) as LoadOptions).then((summary) => {
    process.stdout.write(JSON.stringify(summary) + '\n')
  }, (err: unknown) => {
    process.stderr.write(`load-client: ${String(err)}\n`)
    process.exitCode = 1
  })
}
