// GET /metrics (authenticated like /api): Prometheus text for the whole machine, i.e. every
// worker's metrics summed by the supervisor, plus machine gauges read now from Redis.
import type { FastifyInstance } from 'fastify'
import client from 'prom-client'
import { askSupervisorForMetrics } from '../../metrics/ask-supervisor'
import { machineMetrics, type MachineMetricsDeps } from '../../metrics/machine-metrics'
import { rrError } from '../../errors'

export function metricsRoutes (app: FastifyInstance, deps: MachineMetricsDeps): void {
  app.get('/metrics', async (req, reply) => {
    let workers: string
    try {
      workers = await askSupervisorForMetrics()
    } catch (err) {
      req.log.warn({ err }, 'metrics aggregation failed')
      throw rrError('RR_METRICS_UNAVAILABLE', `Worker metrics unavailable: ${(err as Error).message}`)
    }
    reply.type(client.register.contentType)
    return workers + '\n' + await machineMetrics(deps)
  })
}
