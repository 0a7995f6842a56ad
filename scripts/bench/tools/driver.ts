// The API client of the benchmarks (its own process): authenticated mTLS requests to
// 127.0.0.1 over one keep-alive agent. Modes (one JSON line of results on stdout):
//   dispatch: N sequential POSTs of a robot; after each, GET the record back to back
//             until it is final (POST -> final observed)
//   burst:    N POSTs, C in flight; then polls /api/status until nothing is queued or
//             running
//   sse:      follows a log (SSE): as fast as it can, or paced to rateBytesPerS
// Every loop is bounded in count and time (timeoutMs).
import fs from 'node:fs'
import https from 'node:https'

interface Common { port: number, ca: string, cert: string, key: string, token: string, timeoutMs: number }
export interface DispatchOptions extends Common { mode: 'dispatch', robot: string, count: number, idPrefix: string }
export interface BurstOptions extends Common { mode: 'burst', robot: string, count: number, concurrency: number, idPrefix: string }
export interface SseOptions extends Common { mode: 'sse', path: string, rateBytesPerS?: number, maxMs: number }
type Options = DispatchOptions | BurstOptions | SseOptions

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'lost'])
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function makeRequest (o: Common) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: fs.readFileSync(o.ca), cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key) })
  return (method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        servername: 'localhost',
        port: o.port,
        method,
        path,
        agent,
        timeout: 10_000,
        headers: { authorization: `Bearer ${o.token}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }
      }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          let json: unknown
          try { json = JSON.parse(text) } catch { json = text }
          resolve({ status: res.statusCode ?? 0, json })
        })
      })
      req.on('timeout', () => req.destroy(new Error('request timed out')))
      req.on('error', reject)
      req.end(payload)
    })
  }
}

async function dispatch (o: DispatchOptions): Promise<unknown> {
  const request = makeRequest(o)
  const deadline = Date.now() + o.timeoutMs
  const runs: Array<{ id: string, postMs: number, observedMs: number, polls: number, status: string, created_at: string, started_at: string | null, finished_at: string | null }> = []
  const errors: string[] = []
  for (let i = 0; i < o.count && Date.now() < deadline; i++) {
    const id = `${o.idPrefix}-${i}`
    const t0 = nowMs()
    const posted = await request('POST', '/api/executions', { robot: o.robot, execution_id: id })
    const postMs = nowMs() - t0
    if (posted.status !== 202) { errors.push(`POST ${id}: ${posted.status} ${JSON.stringify(posted.json)}`); continue }
    let polls = 0
    let rec = posted.json
    // Back to back: the resolution is one GET round trip (well under a millisecond here).
    while (!FINAL.has(rec.status) && Date.now() < deadline) {
      polls++
      rec = (await request('GET', `/api/executions/${id}`)).json
    }
    runs.push({ id, postMs, observedMs: nowMs() - t0, polls, status: rec.status, created_at: rec.created_at, started_at: rec.started_at, finished_at: rec.finished_at })
  }
  return { runs, errors }
}

async function burst (o: BurstOptions): Promise<unknown> {
  const request = makeRequest(o)
  const deadline = Date.now() + o.timeoutMs
  const statuses: Record<string, number> = {}
  const errors: string[] = []
  let next = 0
  const firstPostAt = Date.now()
  const poster = async (): Promise<void> => {
    while (next < o.count && Date.now() < deadline) {
      const id = `${o.idPrefix}-${next++}`
      try {
        const r = await request('POST', '/api/executions', { robot: o.robot, execution_id: id })
        statuses[r.status] = (statuses[r.status] ?? 0) + 1
        if (r.status !== 202 && errors.length < 20) errors.push(`${id}: ${r.status} ${JSON.stringify(r.json)}`)
      } catch (err) {
        statuses.error = (statuses.error ?? 0) + 1
        if (errors.length < 20) errors.push(`${id}: ${(err as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, poster))
  const postsDoneAt = Date.now()
  let drainedAt: number | undefined
  while (Date.now() < deadline) {
    const s = (await request('GET', '/api/status')).json
    if (s.queued === 0 && s.running.length === 0) { drainedAt = Date.now(); break }
    await sleep(20)
  }
  return { firstPostAt, postsDoneAt, drainedAt, statuses, errors }
}

function sse (o: SseOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const started = nowMs()
    let firstByteMs: number | undefined
    let bytes = 0
    let outLines = 0
    let ended = false
    let tail = ''
    let peakPausedMs = 0
    const req = https.request({
      host: '127.0.0.1',
      servername: 'localhost',
      port: o.port,
      path: o.path,
      agent: false,
      ca: fs.readFileSync(o.ca),
      cert: fs.readFileSync(o.cert),
      key: fs.readFileSync(o.key),
      headers: { authorization: `Bearer ${o.token}`, accept: 'text/event-stream' }
    }, (res) => {
      const finish = (): void => {
        clearTimeout(stopTimer)
        const end = nowMs()
        const seconds = (end - (firstByteMs ?? end)) / 1000
        resolve({ status: res.statusCode, bytes, outLines, ended, seconds, mbPerS: seconds > 0 ? bytes / 1e6 / seconds : 0, peakPausedMs })
      }
      const stopTimer = setTimeout(() => { res.destroy(); finish() }, o.maxMs)
      res.on('data', (c: Buffer) => {
        firstByteMs ??= nowMs()
        bytes += c.length
        // Count the robot's lines ('[out]'), across chunk boundaries.
        const text = tail + c.toString('latin1')
        const cut = text.lastIndexOf('\n')
        const whole = text.slice(0, cut + 1)
        tail = text.slice(cut + 1)
        for (let i = whole.indexOf('[out]'); i !== -1; i = whole.indexOf('[out]', i + 5)) outLines++
        if (whole.includes('event: end\n')) ended = true
        if (o.rateBytesPerS !== undefined) {
          // Paced reader: pause until the allowed bytes catch up with what was read.
          const aheadMs = bytes / o.rateBytesPerS * 1000 - (nowMs() - (firstByteMs ?? started))
          if (aheadMs > 1) {
            res.pause()
            peakPausedMs = Math.max(peakPausedMs, aheadMs)
            setTimeout(() => res.resume(), aheadMs)
          }
        }
      })
      res.on('end', finish)
      res.on('error', () => finish())
    })
    req.on('error', reject)
    req.end()
  })
}

const o = JSON.parse(process.argv[2]) as Options
const guard = setTimeout(() => { process.stderr.write('driver: overran its time budget\n'); process.exit(2) }, (o.mode === 'sse' ? o.maxMs : o.timeoutMs) + 15_000)
const run = o.mode === 'dispatch' ? dispatch(o) : o.mode === 'burst' ? burst(o) : sse(o)
run.then((r) => {
  clearTimeout(guard)
  process.stdout.write(JSON.stringify(r) + '\n')
  process.exit(0)
}, (err: unknown) => {
  process.stderr.write(`driver: ${String(err)}\n`)
  process.exit(1)
})
