// GET /health (this worker is alive) and GET /ready (Redis answers and all worker slots are up).
// Both need no authentication and are exempt from the rate limit.
import type { FastifyInstance } from 'fastify'
import type Redis from 'ioredis'
import { pingRedis } from '../../state/redis'
import { VERSION } from '../../version'
import type { MachineView } from '../../ipc'

export function healthRoutes (app: FastifyInstance, deps: { redis: Redis, view: () => MachineView }): void {
  const exempt = { rateLimit: false }
  app.get('/health', { config: exempt }, async () => ({ status: 'ok', version: VERSION }))

  app.get('/ready', { config: exempt }, async (_req, reply) => {
    const view = deps.view()
    const redisOk = await pingRedis(deps.redis)
    const workersOk = view.degraded.length === 0
    const ready = redisOk && workersOk && !view.draining
    const checks = {
      redis: redisOk ? 'ok' : 'unreachable',
      workers: workersOk ? 'ok' : view.degraded.join('; '),
      draining: view.draining
    }
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'degraded', checks })
  })
}
