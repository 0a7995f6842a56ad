// Messages between the supervisor and its workers (over the cluster IPC channel).
import type { Config } from './config/settings'

export type Role = 'http' | 'queue'
export type StopReason = 'shutdown' | 'reload'

export interface SlotView {
  role: Role
  slot: number
  pid: number | null
  state: string
  started_at: string | null
  restarts: number
  last_heartbeat: string | null
  /** which configuration the worker runs: 1 at start, +1 per HUP reload */
  generation: number
  /** repeated crashes without 60 s of health in between */
  crash_loop: boolean
  /** exit status of the slot's last worker ("code 1", "signal SIGKILL") */
  last_exit: string | null
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
  /**
   * graceful (fast false): finish in-flight work; fast: cancel now. reason 'reload': an old
   * generation after HUP: take no new work and finish what runs, with no deadline; a later
   * 'shutdown' (TERM) or fast stop may follow and then wins.
   */
  | { t: 'stop', fast: boolean, reason?: StopReason }
  | { t: 'reopen' }
  | { t: 'view', view: MachineView }
  /** the supervisor collects this worker's metrics (prom-client JSON) */
  | { t: 'metrics-collect', id: number }
  /** answer to metrics-req: the whole machine's worker metrics, aggregated by the supervisor */
  | { t: 'metrics', id: number, text?: string, error?: string }

export type FromWorker =
  /** started; an http worker sends it only once its own /health probe over its TLS answered */
  | { t: 'ready', address?: string, probe_ms?: number }
  | { t: 'pong', n: number }
  | { t: 'fatal', code: number, problems: string[] }
  /** a queue worker spawned / reaped a robot (its process group id = its pid) */
  | { t: 'robot', event: 'started' | 'ended', execution_id: string, pgid: number }
  /** an http worker serving GET /metrics asks for every worker's metrics */
  | { t: 'metrics-req', id: number }
  /** this worker's prom-client metrics as JSON, for the supervisor to sum */
  | { t: 'metrics-json', id: number, metrics: unknown[] }

export const isMessage = (m: unknown): m is { t: string } =>
  typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string'
