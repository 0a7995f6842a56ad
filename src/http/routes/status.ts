// GET /api/status: the machine view an orchestrator polls.
import type { FastifyInstance } from 'fastify'
import type { MachineView } from '../../ipc'
import type { ServedCertificate } from '../tls'
import { VERSION } from '../../version'

export type MachineStatus = 'idle' | 'busy' | 'full' | 'draining'

export interface ExecutionCounts {
  running: string[]
  queued: number
}

export interface StatusDeps {
  machineId: string
  capacity: number
  view: () => MachineView
  certificate?: ServedCertificate
  /** running execution ids and the queued count (from Redis) */
  counts: () => Promise<ExecutionCounts>
}

export function machineStatus (counts: ExecutionCounts, capacity: number, draining: boolean): MachineStatus {
  if (draining) return 'draining'
  if (counts.running.length >= capacity) return 'full'
  if (counts.running.length > 0 || counts.queued > 0) return 'busy'
  return 'idle'
}

export function statusRoutes (app: FastifyInstance, deps: StatusDeps): void {
  app.get('/status', async () => {
    const view = deps.view()
    const counts = await deps.counts()
    return {
      machine_id: deps.machineId,
      status: machineStatus(counts, deps.capacity, view.draining),
      version: VERSION,
      uptime_s: Math.floor((Date.now() - Date.parse(view.started_at)) / 1000),
      running: counts.running,
      queued: counts.queued,
      capacity: deps.capacity,
      workers: view.workers,
      certificate: deps.certificate !== undefined
        ? { not_after: deps.certificate.not_after, days_left: deps.certificate.days_left() }
        : null
    }
  })
}
