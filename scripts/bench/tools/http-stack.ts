// An experiment, not a measurement: the runner's GET /api/status stack rebuilt in one
// process from the same packages (Fastify over mTLS, @fastify/helmet, @fastify/rate-limit
// on Redis keyed by the client certificate, bearer auth, pino access log reading the
// client certificate, SMEMBERS + ZCARD), with candidate optimisations switched on by name:
//   peercache     the client certificate read once per TLS connection, not per request
//   statichelmet  helmet's headers computed once at start (the plugin rebuilds helmet per request)
//   autopipeline  ioredis enableAutoPipelining
//   buflog        access log buffered (sonic-boom minLength 4096)
//   localrl       rate limit counted in process memory instead of Redis
// Prints {"ready":true}; serves until killed.
//   node http-stack.js '{"port":..,"root":..,"certs":..,"redisUrl":..,"token":..,"features":[..],"logDir":..}'
import fs from 'node:fs'
import path from 'node:path'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { TLSSocket } from 'node:tls'

interface Options { port: number, root: string, certs: { cert: string, key: string, ca: string }, redisUrl: string, token: string, features: string[], logDir: string }

const o = JSON.parse(process.argv[2]) as Options
const on = (f: string): boolean => o.features.includes(f)
const need = (m: string): any => require(require.resolve(m, { paths: [o.root] })) // eslint-disable-line @typescript-eslint/no-explicit-any

const peers = new WeakMap<TLSSocket, { fp: string, cn: string | undefined }>()
function peer (s: TLSSocket): { fp: string, cn: string | undefined } {
  const cached = on('peercache') ? peers.get(s) : undefined
  if (cached !== undefined) return cached
  const c = s.getPeerCertificate()
  const cn = c.subject?.CN
  const p = { fp: c.fingerprint256, cn: Array.isArray(cn) ? cn[0] : cn }
  if (on('peercache')) peers.set(s, p)
  return p
}

async function main (): Promise<void> {
  const Fastify = need('fastify')
  const pino = need('pino')
  const Redis = need('ioredis')
  const app = Fastify({ https: { cert: fs.readFileSync(o.certs.cert), key: fs.readFileSync(o.certs.key), ca: fs.readFileSync(o.certs.ca), requestCert: true, rejectUnauthorized: false }, logger: false })
  const redis = new Redis(o.redisUrl, { enableAutoPipelining: on('autopipeline') })
  if (on('statichelmet')) {
    const headers: Record<string, string> = {}
    need('helmet')()({}, { setHeader: (k: string, v: string) => { headers[k] = v }, removeHeader: () => {} }, () => {})
    app.addHook('onRequest', (_req: unknown, reply: { headers: (h: Record<string, string>) => void }, done: () => void) => { reply.headers(headers); done() })
  } else {
    await app.register(need('@fastify/helmet'), { global: true })
  }
  await app.register(need('@fastify/rate-limit'), {
    global: true, max: 1e9, timeWindow: 60_000, nameSpace: 'stack:rl:', skipOnError: true,
    ...(on('localrl') ? {} : { redis }),
    keyGenerator: (req: { raw: { socket: TLSSocket } }) => `cert:${peer(req.raw.socket).fp}`
  })
  const access = pino({ base: { slot: 1 }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: ['token', 'req.headers.authorization', '*.token'], censor: '[REDACTED]' } },
    pino.destination({ dest: path.join(o.logDir, 'access.log'), sync: false, ...(on('buflog') ? { minLength: 4096 } : {}) }))
  app.addHook('onResponse', async (req: any, reply: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const s = req.raw.socket as TLSSocket
    access.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100, remote: req.ip, client_cert: s.authorized ? peer(s).cn : undefined })
  })
  const expected = createHash('sha256').update(o.token).digest()
  await app.register(async (api: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    api.addHook('onRequest', async (req: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (!(req.raw.socket as TLSSocket).authorized) throw new Error('client certificate required')
      const h = String(req.headers.authorization ?? '')
      if (!timingSafeEqual(createHash('sha256').update(h.slice(7).trim()).digest(), expected)) throw new Error('bad token')
    })
    api.get('/status', async () => {
      const [running, queued] = await Promise.all([redis.smembers('stack:running'), redis.zcard('stack:pending')])
      return { machine_id: 'bench', status: 'idle', version: '2.0.0', uptime_s: 1, running: running.sort(), queued, capacity: 4, workers: { http: 4, queue: 1 }, certificate: { not_after: '2027-01-01T00:00:00.000Z', days_left: 30 } }
    })
  }, { prefix: '/api' })
  await app.listen({ port: o.port, host: '127.0.0.1' })
  process.stdout.write(JSON.stringify({ ready: true }) + '\n')
}

main().catch((err: unknown) => { process.stderr.write(`http-stack: ${String(err)}\n`); process.exit(1) })
