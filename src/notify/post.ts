// POSTs notifications to notify_url: HTTPS with the runner's certificate as client
// certificate, the server verified against ca_cert; its own keep-alive agent, so
// notification traffic shares no sockets with anything else and can be cut at stop.
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { Logger } from 'pino'
import type { Config } from '../config/settings'

export type PostResult = { ok: true, status: number } | { ok: false, status?: number, error: string }

type TlsFiles = Pick<Config, 'ca_cert' | 'cert_file' | 'key_file'>

export class Poster {
  private readonly url: URL
  private readonly agent: http.Agent
  private readonly active = new Set<http.ClientRequest>()
  private closed = false

  constructor (notifyUrl: string, tls: TlsFiles, maxSockets: number, private readonly timeoutMs: number, logger: Logger) {
    this.url = new URL(notifyUrl)
    const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets }
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ ...options, ...readTls(tls, logger) }) : new http.Agent(options)
  }

  async post (raw: string, headers: Record<string, string>): Promise<PostResult> {
    const first = await this.once(raw, headers)
    // A kept-alive socket the server closed while it sat idle fails at once; Node's
    // documented remedy is to send such a request again, once, on a new socket.
    if (!first.ok && first.staleSocket && !this.closed) return await this.once(raw, headers)
    return first
  }

  private once (raw: string, headers: Record<string, string>): Promise<PostResult & { staleSocket?: boolean }> {
    const mod = this.url.protocol === 'https:' ? https : http
    return new Promise((resolve) => {
      let settled = false
      const done = (r: PostResult & { staleSocket?: boolean }): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.active.delete(req)
        resolve(r)
      }
      const req = mod.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(raw)) }
      }, (res) => {
        const status = res.statusCode ?? 0
        // The answer's body is not used; reading it to the end frees the socket for reuse.
        res.resume()
        res.on('error', () => {})
        done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` })
      })
      // A deadline for the whole exchange, not just socket idleness: a slow orchestrator
      // must not hold a delivery slot (and its lease) forever.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs)
      req.on('error', (err: NodeJS.ErrnoException) => {
        const staleSocket = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')
        done({ ok: false, error: describe(err), staleSocket })
      })
      this.active.add(req)
      req.end(raw)
    })
  }

  /** Cuts every open connection: in-flight posts end with an error. */
  close (): void {
    this.closed = true
    for (const req of this.active) req.destroy(new Error('notifier stopping'))
    this.agent.destroy()
  }
}

/** The error's code and message only: never the request (its headers carry the license key). */
function describe (err: NodeJS.ErrnoException): string {
  return err.code !== undefined && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message
}

function readTls (tls: TlsFiles, logger: Logger): https.AgentOptions {
  const out: https.AgentOptions = {}
  const read = (file: string, key: keyof TlsFiles): Buffer | undefined => {
    try {
      return fs.readFileSync(file)
    } catch (err) {
      logger.warn({ file, error: (err as Error).message }, `notifications: cannot read ${key}; sending without it`)
      return undefined
    }
  }
  const ca = read(tls.ca_cert, 'ca_cert')
  if (ca !== undefined) out.ca = ca
  const cert = read(tls.cert_file, 'cert_file')
  const key = read(tls.key_file, 'key_file')
  if (cert !== undefined && key !== undefined) Object.assign(out, { cert, key })
  return out
}
