// GET /api/workers: the supervisor's view of every worker slot, with each process's RSS
// read from /proc on this machine at request time.
import fs from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { MachineView } from '../../ipc'

const PAGE = 4096

function rssBytes (pid: number | null): number | null {
  if (pid === null) return null
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE
  } catch {
    return null
  }
}

export function workersRoutes (app: FastifyInstance, deps: { view: () => MachineView }): void {
  app.get('/workers', async () => {
    const view = deps.view()
    return {
      supervisor: { pid: process.ppid, started_at: view.started_at, draining: view.draining },
      workers: view.slots.map((s) => ({ ...s, rss_bytes: rssBytes(s.pid) }))
    }
  })
}
