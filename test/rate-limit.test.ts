// The rate limit is shared by all HTTP workers through Redis.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { waitFor } from './helpers/tmp'

t.test('429 after the shared limit, even when requests are spread over workers', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { rate_limit: { max: 10, time_window_ms: 60000 } } })
  const statuses: number[] = []
  let limited
  for (let i = 0; i < 16; i++) {
    // a new TLS connection each time, so the cluster spreads them over both workers
    const res = await runner.request({ path: '/api/status' })
    statuses.push(res.status)
    if (res.status === 429) limited = res
  }
  t.equal(statuses.filter((s) => s === 200).length, 10, '10 allowed')
  t.equal(statuses.filter((s) => s === 429).length, 6, 'the rest limited')
  t.equal(limited!.json().error.code, 'RR_RATE_LIMITED')
  t.ok(Number(limited!.headers['retry-after']) > 0, 'Retry-After is set')

  const health = await Promise.all(Array.from({ length: 15 }, () => runner.raw({ path: '/health', clientCerts: null })))
  t.ok(health.every((r) => r.status === 200), '/health is exempt')

  const accessLog = path.join(runner.dir, 'logs', 'access.log')
  const slots = await waitFor('access log lines from both workers', () => {
    const lines = fs.readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    const s = new Set(lines.filter((l) => l.url === '/api/status').map((l) => l.slot))
    return s.size === 2 ? s : undefined
  })
  t.equal(slots.size, 2, 'both workers served /api/status')
})
