// Load generator (its own process): C keep-alive mTLS connections to 127.0.0.1, each
// sending `GET path` with a bearer token back to back, for a bounded time and count.
// A hand-rolled HTTP/1.1 client over tls.connect: node:https's client costs more CPU per
// request than a small server, and on a small machine the generator must not be what is
// measured. Counts every request that did not get a 200 as failed (with when and why),
// reconnects after `Connection: close` or a dropped connection.
// Prints one JSON line (LoadResult) on stdout.
//   node loadgen.js '<LoadOptions JSON>'
import fs from 'node:fs'
import tls from 'node:tls'

export interface LoadOptions {
  port: number
  ca: string
  cert: string
  key: string
  token: string
  path: string
  connections: number
  durationMs: number
  /** requests completing in the first warmupMs are not counted */
  warmupMs: number
  /** hard cap on requests (all connections), so a fast machine cannot run away */
  maxRequests: number
  timeoutMs: number
}

export interface LoadResult {
  /** 200s completed inside the measured window */
  requests: number
  rps: number
  latencyUs: { p50: number, p99: number, max: number }
  /** every request sent (warm-up included) and the ones that failed */
  sent: number
  failed: number
  failures: Array<{ atMs: number, error: string }>
  connects: number
  connectionClose: number
  windowMs: number
  /** Date.now() when the generator started (failures' atMs count from it) */
  startedAt: number
  /** this generator's CPU use in the window, percent of one core */
  cpuPercent: number
}

interface Answer { status?: number, close?: boolean, error?: string }

class Conn {
  private buf: Buffer = Buffer.alloc(0)
  private waiter: ((a: Answer) => void) | undefined
  private timer: NodeJS.Timeout | undefined
  closed = false

  constructor (readonly sock: tls.TLSSocket, private readonly timeoutMs: number) {
    sock.on('data', (c: Buffer) => this.onData(c))
    sock.on('error', (e: NodeJS.ErrnoException) => this.settle({ error: `${e.code ?? 'error'}: ${e.message}` }))
    sock.on('close', () => { this.closed = true; this.settle({ error: 'connection closed before the response' }) })
  }

  request (bytes: Buffer): Promise<Answer> {
    return new Promise((resolve) => {
      this.waiter = resolve
      this.timer = setTimeout(() => { this.settle({ error: 'timed out' }); this.sock.destroy() }, this.timeoutMs)
      this.sock.write(bytes)
    })
  }

  private settle (a: Answer): void {
    const w = this.waiter
    this.waiter = undefined
    clearTimeout(this.timer)
    w?.(a)
  }

  private onData (c: Buffer): void {
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c])
    const headEnd = this.buf.indexOf('\r\n\r\n')
    if (headEnd === -1) return
    const head = this.buf.toString('latin1', 0, headEnd)
    let end: number
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    if (length !== null) {
      end = headEnd + 4 + Number(length[1])
      if (this.buf.length < end) return
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.buf.indexOf('\r\n0\r\n\r\n', headEnd + 2)
      if (last === -1) return
      end = last + 7
    } else {
      end = headEnd + 4
    }
    this.buf = this.buf.subarray(end)
    this.settle({ status: Number(head.slice(9, 12)), close: /\r\nconnection:\s*close/i.test(head) })
  }
}

function connect (o: LoadOptions, tlsFiles: { ca: Buffer, cert: Buffer, key: Buffer }): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: o.port, servername: 'localhost', ...tlsFiles })
    sock.setNoDelay(true)
    const timer = setTimeout(() => sock.destroy(new Error('connect timed out')), o.timeoutMs)
    sock.once('secureConnect', () => { clearTimeout(timer); sock.removeListener('error', reject); resolve(new Conn(sock, o.timeoutMs)) })
    sock.once('error', (e) => { clearTimeout(timer); reject(e) })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export function quantile (sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

async function main (o: LoadOptions): Promise<LoadResult> {
  const tlsFiles = { ca: fs.readFileSync(o.ca), cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key) }
  const bytes = Buffer.from(`GET ${o.path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${o.token}\r\nAccept: application/json\r\n\r\n`, 'latin1')
  const started = Date.now()
  const measureFrom = started + o.warmupMs
  const deadline = started + o.durationMs
  const latencies: number[] = []
  const failures: LoadResult['failures'] = []
  let sent = 0
  let failed = 0
  let connects = 0
  let connectionClose = 0
  let cpuAtWindow: NodeJS.CpuUsage | undefined
  const fail = (error: string): void => {
    failed++
    if (failures.length < 200) failures.push({ atMs: Date.now() - started, error })
  }

  const loop = async (): Promise<void> => {
    let conn: Conn | undefined
    while (Date.now() < deadline && sent < o.maxRequests) {
      if (conn === undefined || conn.closed) {
        try {
          connects++
          conn = await connect(o, tlsFiles)
        } catch (err) {
          sent++
          fail(`connect: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
          conn = undefined
          await sleep(10)
          continue
        }
      }
      sent++
      const t0 = process.hrtime.bigint()
      const a = await conn.request(bytes)
      const now = Date.now()
      if (cpuAtWindow === undefined && now >= measureFrom) cpuAtWindow = process.cpuUsage()
      if (a.error !== undefined) {
        fail(a.error)
        conn.sock.destroy()
        conn = undefined
        continue
      }
      if (a.status !== 200) fail(`status ${String(a.status)}`)
      else if (now >= measureFrom && now <= deadline) latencies.push(Number(process.hrtime.bigint() - t0) / 1000)
      if (a.close === true) {
        connectionClose++
        conn.sock.end()
        conn = undefined
      }
    }
    conn?.sock.end()
  }
  await Promise.all(Array.from({ length: o.connections }, loop))
  const windowMs = Math.max(1, Math.min(Date.now(), deadline) - measureFrom)
  const cpu = process.cpuUsage(cpuAtWindow)
  const sorted = Float64Array.from(latencies).sort()
  return {
    requests: latencies.length,
    rps: latencies.length / (windowMs / 1000),
    latencyUs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? 0 },
    sent,
    failed,
    failures,
    connects,
    connectionClose,
    windowMs,
    startedAt: started,
    cpuPercent: ((cpu.user + cpu.system) / 1000) / windowMs * 100
  }
}

if (require.main === module) {
  const o = JSON.parse(process.argv[2]) as LoadOptions
  // Never outlive the measurement by much, whatever the server does.
  const guard = setTimeout(() => { process.stderr.write('loadgen: overran its time budget\n'); process.exit(2) }, o.durationMs + o.timeoutMs + 10_000)
  main(o).then((r) => {
    clearTimeout(guard)
    process.stdout.write(JSON.stringify(r) + '\n')
  }, (err: unknown) => {
    process.stderr.write(`loadgen: ${String(err)}\n`)
    process.exit(1)
  })
}
