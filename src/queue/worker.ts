// Entry point of a queue worker process (forked by the supervisor). For now it holds a
// Redis connection and a heartbeat key; the execution engine consumes the queue here.
import { runWorker, type WorkerContext, type WorkerHandle } from '../worker-runtime'
import { connectRedis } from '../state/redis'
import { makeKeys } from '../state/keys'

const HEARTBEAT_MS = 5000

async function start (ctx: WorkerContext): Promise<WorkerHandle> {
  const keys = makeKeys(ctx.config.machine_id)
  const redis = connectRedis(ctx.config, `rr-queue-${ctx.slot}`)
  const beat = (): void => {
    redis.set(keys.heartbeat('queue', ctx.slot), JSON.stringify({ pid: process.pid, at: new Date().toISOString() }), 'PX', HEARTBEAT_MS * 3)
      .catch((err: unknown) => ctx.logger.warn({ err }, 'heartbeat to Redis failed'))
  }
  beat()
  const timer = setInterval(beat, HEARTBEAT_MS)
  ctx.logger.info('queue worker idle')
  return {
    stop: async () => {
      clearInterval(timer)
      await redis.del(keys.heartbeat('queue', ctx.slot)).catch(() => {})
      redis.disconnect()
    }
  }
}

runWorker('queue', start)
