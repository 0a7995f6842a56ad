// Messages between the supervisor and its workers (over the cluster IPC channel).
import type { Config } from './config/settings'

export type Role = 'http' | 'queue'

export interface SlotView {
  role: Role
  slot: number
  pid: number | null
  state: string
  started_at: string | null
  restarts: number
  last_heartbeat: string | null
}

/** What the supervisor tells every worker about the machine, on every change. */
export interface MachineView {
  started_at: string
  draining: boolean
  degraded: string[]
  workers: { http: number, queue: number }
  slots: SlotView[]
}

export type ToWorker =
  | { t: 'init', config: Config, role: Role, slot: number, generation: number, view: MachineView }
  | { t: 'ping', n: number }
  | { t: 'stop', fast: boolean }
  | { t: 'reopen' }
  | { t: 'view', view: MachineView }

export type FromWorker =
  | { t: 'ready', address?: string }
  | { t: 'pong', n: number }
  | { t: 'fatal', code: number, problems: string[] }
  /** a queue worker spawned / reaped a robot (its process group id = its pid) */
  | { t: 'robot', event: 'started' | 'ended', execution_id: string, pgid: number }

export const isMessage = (m: unknown): m is { t: string } =>
  typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string'
