// Executions whose queue worker died are `lost`: their leftover processes are killed (the
// supervisor does it too when it saw the death; after a whole-tree SIGKILL only we can),
// and they run again only if the request asked for retries (at-most-once by default).
import fs from 'node:fs'
import type { ExecutorDeps } from './executor'
import { signalExecution } from './kill'
import { executionsFinished } from '../metrics/worker-metrics'

function isQueueWorker (pid: number | null): boolean {
  if (pid === null) return false
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('robotrunner: queue worker')
  } catch {
    return false
  }
}

export async function reapLost ({ store, logger }: ExecutorDeps): Promise<void> {
  const ids = await store.runningIds()
  if (ids.length === 0) return
  for (const record of await store.getMany(ids)) {
    if (record.status !== 'running' || isQueueWorker(record.worker_pid)) continue
    signalExecution(record.id, record.pid ?? undefined, 'SIGKILL')
    const retry = record.attempt <= record.retries
    const done = await store.finish(record.id, 'lost', { error: `queue worker ${String(record.worker_pid)} died while running it` }, retry)
    if (done !== undefined) executionsFinished.inc({ robot: record.robot, status: 'lost' })
    if (done !== undefined) logger.warn({ execution_id: record.id, worker_pid: record.worker_pid, retry }, 'execution lost')
  }
}
