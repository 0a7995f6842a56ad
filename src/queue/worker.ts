// Entry point of a queue worker process (forked by the supervisor): runs robots.
import { runWorker, type WorkerContext, type WorkerHandle } from '../worker-runtime'
import { connectRedis } from '../state/redis'
import { makeKeys } from '../state/keys'
import { ExecutionStore } from '../state/executions'
import { listRobots } from './catalogue'
import { Dispatcher } from './dispatcher'
import { pruneOnce } from './retention'
import { startNotifier } from '../notify/notifier'
import type { ExecutorDeps } from './executor'

const HEARTBEAT_MS = 5000
const RETENTION_MS = 10_000

export function notifyEnabled (c: WorkerContext['config']): boolean {
  return c.notify_url !== undefined && c.notify_on_status_change
}

async function start (ctx: WorkerContext): Promise<WorkerHandle> {
  const { config, logger } = ctx
  const keys = makeKeys(config.machine_id)
  const redis = connectRedis(config, `rr-queue-${ctx.slot}`)
  const sub = connectRedis(config, `rr-queue-${ctx.slot}-sub`)
  const store = new ExecutionStore(redis, { keys, cap: config.max_concurrent_executions, notify: notifyEnabled(config), token: config.token, machineId: config.machine_id })
  const deps: ExecutorDeps = {
    config,
    keys,
    redis,
    store,
    logger,
    report: (event, executionId, pgid) => { if (process.connected) process.send?.({ t: 'robot', event, execution_id: executionId, pgid }) }
  }
  for (const robot of listRobots(config.robots_dir)) {
    if (!robot.valid) logger.warn({ robot: robot.name, error: robot.error }, 'invalid robot manifest (GET /api/robots shows it)')
  }
  await store.setDraining(false)
  const dispatcher = new Dispatcher(deps, sub)
  await dispatcher.start()
  const notifier = notifyEnabled(config) ? startNotifier(config, logger, ctx.slot) : undefined

  const beat = (): void => {
    redis.set(keys.heartbeat('queue', ctx.slot, process.pid), JSON.stringify({ pid: process.pid, at: new Date().toISOString(), running: dispatcher.count }), 'PX', HEARTBEAT_MS * 3)
      .catch((err: unknown) => logger.warn({ err }, 'heartbeat to Redis failed'))
  }
  beat()
  const prune = (): void => { pruneOnce(deps).catch((err: unknown) => logger.warn({ err }, 'retention failed')) }
  const timers = [setInterval(beat, HEARTBEAT_MS), setInterval(prune, RETENTION_MS), setTimeout(prune, 1000)]
  logger.info({ concurrency: config.concurrency, cap: config.max_concurrent_executions }, 'queue worker taking executions')

  return {
    stop: async (fast: boolean, reason?: 'shutdown' | 'reload') => {
      for (const t of timers) clearTimeout(t)
      if (reason !== 'reload') await store.setDraining(true).catch(() => {})
      await dispatcher.stop(reason === 'reload' ? 'reload' : fast ? 'fast' : 'shutdown')
      await notifier?.stop(fast)
      await redis.del(keys.heartbeat('queue', ctx.slot, process.pid)).catch(() => {})
      redis.disconnect()
    }
  }
}

runWorker('queue', start)
