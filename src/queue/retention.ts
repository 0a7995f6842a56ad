// Prunes finished executions beyond retention.max_executions or older than
// retention.max_age_days: record, secrets, log stream and the folder under data_dir go
// together. One worker at a time (a short Redis lock); queued and running are never touched.
import fs from 'node:fs/promises'
import type { ExecutorDeps } from './executor'
import { executionDir } from './executor'
import { FINAL_STATUSES } from '../state/executions'

const BATCH = 500
const DAY_MS = 24 * 3600 * 1000

export async function pruneOnce ({ config, keys, redis, store, logger }: ExecutorDeps): Promise<number> {
  // The common case costs two cheap reads: nothing too many, nothing too old.
  const [count, oldest] = await Promise.all([redis.zcard(keys.index), redis.zrange(keys.index, 0, 0, 'WITHSCORES')])
  if (count <= config.retention.max_executions && (oldest.length === 0 || Number(oldest[1]) >= Date.now() - config.retention.max_age_days * DAY_MS)) return 0
  const locked = await redis.set(keys.retentionLock, String(process.pid), 'PX', 60_000, 'NX')
  if (locked !== 'OK') return 0
  let removed = 0
  try {
    const total = await redis.zcard(keys.index)
    const cutoff = Date.now() - config.retention.max_age_days * DAY_MS
    let excess = total - config.retention.max_executions
    let offset = 0
    while (true) {
      const page = await redis.zrange(keys.index, offset, offset + BATCH - 1, 'WITHSCORES')
      if (page.length === 0) break
      let stop = false
      const ids: string[] = []
      for (let i = 0; i < page.length; i += 2) {
        const old = Number(page[i + 1]) < cutoff
        if (!old && excess <= 0) { stop = true; break }
        ids.push(page[i])
      }
      let kept = 0
      const records = await store.getMany(ids)
      const found = new Set(records.map((r) => r.id))
      for (const id of ids) if (!found.has(id)) await redis.zrem(keys.index, id) // record already gone
      for (const r of records) {
        const old = Date.parse(r.created_at) < cutoff
        if (FINAL_STATUSES.has(r.status) && (old || excess > 0)) {
          await store.remove(r.id)
          await fs.rm(executionDir(config, r.id), { recursive: true, force: true })
          excess--
          removed++
        } else {
          kept++
        }
      }
      if (stop) break
      offset += kept
    }
  } finally {
    await redis.del(keys.retentionLock)
  }
  if (removed > 0) logger.info({ removed }, 'retention pruned executions')
  return removed
}
