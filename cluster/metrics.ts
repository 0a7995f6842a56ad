// The supervisor's side of GET /metrics: it asks every live worker for its prom-client
// metrics (JSON, over our IPC), sums them with prom-client's AggregatorRegistry.aggregate,
// and adds what only it knows: worker restarts, each process's CPU and memory from /proc.
// A worker that does not answer in time (starting, dying) is left out of this one scrape
// rather than failing it.
import fs from 'node:fs'
import type { Worker } from 'node:cluster'
import client from 'prom-client'
import type { Slot } from './slot'

const CLK_TCK = 100 // USER_HZ on Linux
const PAGE = 4096
const COLLECT_TIMEOUT_MS = 2000

type MetricsJson = Parameters<typeof client.AggregatorRegistry.aggregate>[0][number]

interface Pending { resolve: (m: MetricsJson | undefined) => void, timer: NodeJS.Timeout }

export class SupervisorMetrics {
  private nextId = 1
  private readonly pending = new Map<string, Pending>()

  /** Called with each worker's 'metrics-json' answer. */
  answered (worker: Worker, id: number, metrics: unknown[]): void {
    const key = `${worker.id}:${id}`
    const p = this.pending.get(key)
    if (p === undefined) return
    this.pending.delete(key)
    clearTimeout(p.timer)
    p.resolve(metrics as MetricsJson)
  }

  async collect (slots: readonly Slot[], restartsByRole: Record<string, number>, send: (w: Worker, id: number) => void): Promise<string> {
    const id = this.nextId++
    const live = slots.filter((s) => s.worker !== undefined && s.worker.isConnected() && (s.state === 'ready' || s.state === 'draining'))
    const answers = await Promise.all(live.map((s) => new Promise<MetricsJson | undefined>((resolve) => {
      const key = `${s.worker!.id}:${id}`
      const timer = setTimeout(() => { this.pending.delete(key); resolve(undefined) }, COLLECT_TIMEOUT_MS)
      this.pending.set(key, { resolve, timer })
      send(s.worker!, id)
    })))
    const workers = client.AggregatorRegistry.aggregate(answers.filter((a): a is MetricsJson => a !== undefined))
    return await workers.metrics() + '\n' + await this.own(slots, restartsByRole)
  }

  private async own (slots: readonly Slot[], restartsByRole: Record<string, number>): Promise<string> {
    const own = new client.Registry()
    const restarts = new client.Counter({ name: 'robotrunner_worker_restarts_total', help: 'Workers replaced after an unexpected exit, by role', labelNames: ['role'], registers: [own] })
    for (const [role, n] of Object.entries(restartsByRole)) restarts.inc({ role }, n)
    const rss = new client.Gauge({ name: 'robotrunner_process_resident_memory_bytes', help: 'Resident memory of the supervisor and each worker', labelNames: ['role', 'slot', 'pid'], registers: [own] })
    const cpu = new client.Counter({ name: 'robotrunner_process_cpu_seconds_total', help: 'User + system CPU time of the supervisor and each worker', labelNames: ['role', 'slot', 'pid'], registers: [own] })
    const processes: Array<[string, string, number]> = [['supervisor', '0', process.pid]]
    for (const s of slots) if (s.worker?.process.pid !== undefined) processes.push([s.role, String(s.index), s.worker.process.pid])
    for (const [role, slot, pid] of processes) {
      const usage = readProc(pid)
      if (usage === undefined) continue
      rss.set({ role, slot, pid: String(pid) }, usage.rss)
      cpu.inc({ role, slot, pid: String(pid) }, usage.cpu)
    }
    return await own.metrics()
  }
}

function readProc (pid: number): { rss: number, cpu: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')
    return { cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK, rss: Number(statm[1]) * PAGE }
  } catch {
    return undefined
  }
}
