// Machine-wide gauges read from Redis (and the served certificate) at scrape time by the
// worker answering GET /metrics: they describe the machine, not a process, so they are
// not summed across workers.
import client from 'prom-client'
import type Redis from 'ioredis'
import type { Keys } from '../state/keys'
import { pingRedis } from '../state/redis'

const MAX_LISTS = 1000

export interface MachineMetricsDeps {
  redis: Redis
  keys: Keys
  certificateDaysLeft?: () => number
}

export async function machineMetrics ({ redis, keys, certificateDaysLeft }: MachineMetricsDeps): Promise<string> {
  const registry = new client.Registry()
  const gauge = (name: string, help: string, value: number): void => {
    const g = new client.Gauge({ name, help, registers: [registry] })
    g.set(value)
  }
  const up = await pingRedis(redis)
  gauge('robotrunner_redis_up', '1 when Redis answered PING within 1 s', up ? 1 : 0)
  if (certificateDaysLeft !== undefined) gauge('robotrunner_certificate_days_left', 'Whole days until the served certificate expires', certificateDaysLeft())
  if (up) {
    const [running, queued, outboxLen, lists, stats] = await Promise.all([
      redis.scard(keys.running),
      redis.zcard(keys.pending),
      redis.xlen(keys.outbox),
      redis.zrange(keys.notifyDue, 0, MAX_LISTS - 1),
      redis.hgetall(keys.notifyStats)
    ])
    gauge('robotrunner_executions_running', 'Robots running now (machine-wide)', running)
    gauge('robotrunner_executions_queued', 'Executions waiting for a slot (machine-wide)', queued)
    const { depth, oldestMs } = await outboxDepth(redis, keys, outboxLen, lists)
    gauge('robotrunner_notifications_outbox_depth', 'Notifications not yet delivered to the orchestrator', depth)
    gauge('robotrunner_notifications_oldest_age_seconds', 'Age of the oldest undelivered notification (0 when none)', oldestMs === undefined ? 0 : (Date.now() - oldestMs) / 1000)
    for (const outcome of ['delivered', 'failed', 'given_up']) {
      const c = new client.Counter({ name: `robotrunner_notifications_${outcome}_total`, help: `Notification POSTs ${outcome.replace('_', ' ')} (machine-wide, kept in Redis)`, registers: [registry] })
      c.inc(Number(stats[outcome] ?? 0))
    }
  }
  return await registry.metrics()
}

async function outboxDepth (redis: Redis, keys: Keys, outboxLen: number, lists: string[]): Promise<{ depth: number, oldestMs?: number }> {
  let depth = outboxLen
  let oldestMs: number | undefined
  const pipeline = redis.pipeline()
  for (const name of lists) pipeline.llen(keys.notifyQueuePrefix + name).lindex(keys.notifyQueuePrefix + name, 0)
  const results = (await pipeline.exec()) ?? []
  for (let i = 0; i < results.length; i += 2) {
    depth += Number(results[i][1] ?? 0)
    const head = results[i + 1][1]
    if (typeof head !== 'string') continue
    try {
      const ts = Date.parse((JSON.parse(head) as { ts?: string }).ts ?? '')
      if (Number.isFinite(ts) && (oldestMs === undefined || ts < oldestMs)) oldestMs = ts
    } catch { /* not ours to judge */ }
  }
  if (outboxLen > 0) {
    const first = await redis.xrange(keys.outbox, '-', '+', 'COUNT', 1)
    const ms = Number(first[0]?.[0].split('-')[0])
    if (Number.isFinite(ms) && (oldestMs === undefined || ms < oldestMs)) oldestMs = ms
  }
  return { depth, oldestMs }
}
