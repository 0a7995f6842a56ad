// The authentication matrix on a real supervisor with 2 HTTP workers over real mTLS.
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'

const certs = makeCerts(t)
const otherCa = makeCerts(t)

t.test('client_auth optional', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })

  t.test('no client certificate: /health and /ready answer, /api needs one', async (t) => {
    const health = await runner.raw({ path: '/health', clientCerts: null })
    t.equal(health.status, 200)
    t.same(health.json(), { status: 'ok', version: '2.0.0' })
    const ready = await runner.raw({ path: '/ready', clientCerts: null })
    t.equal(ready.status, 200)
    t.same(ready.json(), { status: 'ready', checks: { redis: 'ok', workers: 'ok', draining: false } })
    const status = await runner.raw({ path: '/api/status', clientCerts: null, token: runner.token })
    t.equal(status.status, 401)
    t.equal(status.json().error.code, 'RR_CLIENT_CERT_REQUIRED')
  })

  t.test('certificate from another CA: 401 (or the handshake fails)', async (t) => {
    const res = await runner.raw({ path: '/api/status', clientCerts: otherCa, token: runner.token }).catch((err: Error) => err)
    if (res instanceof Error) t.match(res.message, /certificate|alert|socket/i)
    else {
      t.equal(res.status, 401)
      t.equal(res.json().error.code, 'RR_CLIENT_CERT_REQUIRED')
    }
  })

  t.test('valid certificate, no token: 401', async (t) => {
    const res = await runner.raw({ path: '/api/status' })
    t.equal(res.status, 401)
    t.equal(res.json().error.code, 'RR_AUTH_REQUIRED')
  })

  t.test('valid certificate, wrong token: 403', async (t) => {
    const res = await runner.raw({ path: '/api/status', token: 'x'.repeat(64) })
    t.equal(res.status, 403)
    t.equal(res.json().error.code, 'RR_AUTH_INVALID')
    const short = await runner.raw({ path: '/api/status', token: 'abc' })
    t.equal(short.status, 403, 'a token of another length is just as wrong')
  })

  t.test('valid certificate and token: 200 with the machine view', async (t) => {
    const res = await runner.request({ path: '/api/status' })
    t.equal(res.status, 200)
    const body = res.json()
    t.equal(body.machine_id, runner.config.machine_id)
    t.equal(body.status, 'idle')
    t.equal(body.version, '2.0.0')
    t.same(body.running, [])
    t.equal(body.queued, 0)
    t.equal(body.capacity, 4)
    t.same(body.workers, { http: 2, queue: 1 })
    t.ok(body.certificate.days_left >= 28 && body.certificate.days_left <= 30, 'days_left read from the served certificate (30-day cert)')
    t.match(body.certificate.not_after, /^\d{4}-\d\d-\d\dT/)
    t.ok(body.uptime_s >= 0)
  })

  t.test('security headers (helmet) on every response, errors in the envelope', async (t) => {
    for (const path of ['/health', '/api/status', '/nope']) {
      const res = await runner.request({ path })
      t.equal(res.headers['x-content-type-options'], 'nosniff', path)
      t.ok(res.headers['strict-transport-security'], `${path} has HSTS`)
      t.ok(res.headers['content-security-policy'], `${path} has CSP`)
      t.equal(res.headers['x-frame-options'], 'SAMEORIGIN', path)
    }
    const missing = await runner.request({ path: '/api/nope' })
    t.equal(missing.status, 404)
    t.equal(missing.json().error.code, 'RR_NOT_FOUND')
    t.match(missing.headers['content-type'], /application\/json; charset=utf-8/)
  })

  t.test('GET /api/workers: the supervisor view with RSS', async (t) => {
    const res = await runner.request({ path: '/api/workers' })
    t.equal(res.status, 200)
    const { workers } = res.json()
    t.same(workers.map((w: { role: string, slot: number }) => `${w.role}${w.slot}`).sort(), ['http1', 'http2', 'queue1'])
    for (const w of workers) {
      t.equal(w.state, 'ready')
      t.ok(w.rss_bytes > 10e6, 'rss from /proc')
      t.match(w.last_heartbeat, /^\d{4}-/)
    }
    t.equal((await runner.raw({ path: '/api/workers' })).status, 401, 'authenticated')
  })

  t.test('body over body_limit_bytes: 413', async (t) => {
    const res = await runner.request({ path: '/api/status', method: 'POST', body: { pad: 'x'.repeat(1100 * 1024) } })
    t.equal(res.status, 413)
    t.equal(res.json().error.code, 'RR_BODY_TOO_LARGE')
  })
})

t.test('client_auth required: the handshake itself fails without a certificate', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { client_auth: 'required', http_workers: 1 } })
  const err = await runner.raw({ path: '/health', clientCerts: null }).then(() => null, (e: Error) => e)
  t.ok(err, 'no certificate: the connection fails')
  const other = await runner.raw({ path: '/health', clientCerts: otherCa }).then(() => null, (e: Error) => e)
  t.ok(other, 'certificate of another CA: the connection fails')
  const ok = await runner.request({ path: '/api/status' })
  t.equal(ok.status, 200, 'valid certificate and token')
})
