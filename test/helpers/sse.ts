// A streaming Server-Sent Events client over real mTLS (node:https), for log follow tests.
// Parses `id:` / `event:` / `data:` frames as the EventSource spec does: comment lines
// (`: ...`) are ignored, multi-line data is joined with '\n', an event is dispatched at
// the blank line that ends it (a frame cut off by a disconnect is never dispatched).
import fs from 'node:fs'
import https from 'node:https'
import type { IncomingMessage } from 'node:http'
import type { Certs } from './certs'

export interface SseEvent {
  /** the frame's `id:` (undefined when the frame had none) */
  id?: string
  /** the frame's `event:` type, 'message' when none */
  event: string
  data: string
}

export interface SseOptions {
  port: number
  certs: Certs
  token: string
  path: string
  headers?: Record<string, string>
  /** no response headers within this long → the open fails */
  timeoutMs?: number
}

export class SseStream {
  readonly events: SseEvent[] = []
  /** the id of the last complete event received (what Last-Event-ID should carry) */
  lastEventId: string | undefined
  /** raw text received, for diagnostics */
  raw = ''
  ended = false
  error: Error | undefined
  private read = 0
  private buf = ''
  private cur: { id?: string, event?: string, data: string[] } = { data: [] }
  private wake: (() => void) | undefined

  constructor (readonly res: IncomingMessage, private readonly req: ReturnType<typeof https.request>) {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => { this.raw += chunk; this.feed(chunk) })
    res.on('end', () => { this.ended = true; this.poke() })
    res.on('close', () => { this.ended = true; this.poke() })
    res.on('error', (err) => { this.error = err; this.ended = true; this.poke() })
  }

  get status (): number { return this.res.statusCode ?? 0 }
  get headers (): IncomingMessage['headers'] { return this.res.headers }

  /** The next event not yet returned by next(); undefined when the stream ended first. Throws after timeoutMs. */
  async next (timeoutMs = 20_000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      if (this.read < this.events.length) return this.events[this.read++]
      if (this.ended) return undefined
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms (received ${this.events.length} events so far)`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => { clearTimeout(timer); resolve() }
      })
    }
  }

  /** Reads events until the stream ends (bounded by timeoutMs); returns those read. */
  async rest (timeoutMs = 60_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs
    const out: SseEvent[] = []
    while (true) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`SSE stream did not end within ${timeoutMs} ms (read ${out.length} events)`)
      const e = await this.next(left)
      if (e === undefined) return out
      out.push(e)
    }
  }

  /** Disconnects (as a client that goes away would). */
  close (): void {
    this.req.destroy()
    this.res.destroy()
  }

  private poke (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private feed (chunk: string): void {
    this.buf += chunk
    while (true) {
      const m = /\r\n|\r|\n/.exec(this.buf)
      if (m === null) break
      // a lone \r at the very end may be the first half of \r\n: wait for more
      if (m[0] === '\r' && m.index === this.buf.length - 1) break
      const line = this.buf.slice(0, m.index)
      this.buf = this.buf.slice(m.index + m[0].length)
      this.line(line)
    }
    this.poke()
  }

  private line (line: string): void {
    if (line === '') {
      const { id, event, data } = this.cur
      this.cur = { data: [] }
      if (id !== undefined) this.lastEventId = id
      if (data.length === 0 && event === undefined) return
      this.events.push({ ...(id !== undefined ? { id } : {}), event: event ?? 'message', data: data.join('\n') })
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.cur.data.push(value)
    else if (field === 'id') this.cur.id = value
    else if (field === 'event') this.cur.event = value
  }
}

/** Opens an SSE request; resolves once the response headers arrived (any status). */
export function openSse (opts: SseOptions): Promise<SseStream> {
  const ca = fs.readFileSync(opts.certs.ca)
  const cert = fs.readFileSync(opts.certs.clientCert)
  const key = fs.readFileSync(opts.certs.clientKey)
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      servername: 'localhost',
      port: opts.port,
      method: 'GET',
      path: opts.path,
      headers: { authorization: `Bearer ${opts.token}`, ...opts.headers },
      ca,
      cert,
      key,
      agent: false
    }, (res) => {
      clearTimeout(timer)
      resolve(new SseStream(res, req))
    })
    const timer = setTimeout(() => req.destroy(new Error(`no SSE response headers within ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000)
    req.on('error', (err) => { clearTimeout(timer); reject(err) })
    req.end()
  })
}
