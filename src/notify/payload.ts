// The API.md §4 notification built from an outbox entry, and its signed headers.
import { createHmac } from 'node:crypto'
import { toRecord, type ExecutionRecord } from '../state/executions'
import { VERSION } from '../version'
import type { OutboxEntry } from './queue'

export interface NotificationBody {
  id: string
  event: 'execution.status' | 'machine.status'
  machine_id: string
  seq: number
  timestamp: string
  status: string
  previous_status: string | null
  execution?: ExecutionRecord
}

export interface Notification {
  body: NotificationBody
  /** the exact bytes sent and signed */
  raw: string
  /** time of the state change (ms), for the 24 h give-up */
  changedAt: number
}

/**
 * The id is machine_id + the outbox stream id: stable across retries (the orchestrator
 * de-duplicates by it) and never reused, unlike (execution id, seq), which starts again
 * at 1 when an id is reused after retention pruned the first execution.
 */
export function buildNotification (entry: OutboxEntry, machineId: string): Notification {
  const body: NotificationBody = {
    id: `${machineId}:${entry.id}`,
    event: entry.kind === 'machine' ? 'machine.status' : 'execution.status',
    machine_id: machineId,
    seq: Number(entry.seq),
    timestamp: entry.ts,
    status: entry.status,
    previous_status: entry.previous === '' ? null : entry.previous
  }
  if (entry.kind !== 'machine') body.execution = toRecord(JSON.parse(entry.record ?? '{}'))
  return { body, raw: JSON.stringify(body), changedAt: Date.parse(entry.ts) }
}

/** sha256=<hex HMAC-SHA256 of the raw body keyed with the token> */
export function signature (raw: string, token: string): string {
  return `sha256=${createHmac('sha256', token).update(raw).digest('hex')}`
}

export function notificationHeaders (raw: string, c: { machine_id: string, license_key: string, token: string }): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': `robotrunner/${VERSION}`,
    'x-machine-id': c.machine_id,
    'x-license-key': c.license_key,
    'x-robotrunner-signature': signature(raw, c.token)
  }
}
