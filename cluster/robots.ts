// The supervisor's registry of running robots, reported by queue workers over IPC when
// they spawn and reap one. When a queue worker dies, the robots it ran are killed here
// (group and marked stragglers), so no orphan keeps driving the machine; the execution
// records become `lost` through the queue workers' reaper (src/queue/), since the
// supervisor does not touch Redis.
import type { Logger } from 'pino'
import { signalExecution } from '../src/queue/kill'

export class RobotRegistry {
  private readonly byWorker = new Map<number, Map<string, number>>()

  constructor (private readonly log: Logger) {}

  started (workerPid: number, executionId: string, pgid: number): void {
    let robots = this.byWorker.get(workerPid)
    if (robots === undefined) this.byWorker.set(workerPid, robots = new Map())
    robots.set(executionId, pgid)
  }

  ended (workerPid: number, executionId: string): void {
    this.byWorker.get(workerPid)?.delete(executionId)
  }

  count (): number {
    let n = 0
    for (const robots of this.byWorker.values()) n += robots.size
    return n
  }

  /** The worker is gone: SIGKILL everything it was running. */
  killOrphans (workerPid: number): void {
    const robots = this.byWorker.get(workerPid)
    this.byWorker.delete(workerPid)
    for (const [executionId, pgid] of robots ?? []) {
      const n = signalExecution(executionId, pgid, 'SIGKILL')
      this.log.warn({ execution_id: executionId, pgid, worker_pid: workerPid, signalled: n }, 'queue worker died; killed its robot')
    }
  }
}
