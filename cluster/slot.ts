// One worker slot and its small state machine:
//
//   stopped ──spawn──► starting ──ready──► ready ──drain──► draining ──exit──► stopped
//      ▲                  │                  │
//      └──── backoff ◄────┴──── exit ────────┘   (unexpected exit: wait, then spawn again)
//
// The supervisor loop is the only caller; a slot never acts on its own.
import type { Worker } from 'node:cluster'
import type { Role, SlotView } from '../src/ipc'

export type SlotState = 'stopped' | 'backoff' | 'starting' | 'ready' | 'draining'

const BACKOFF_FIRST_MS = 100
const BACKOFF_MAX_MS = 30_000
const HEALTHY_RESET_MS = 60_000

export class Slot {
  state: SlotState = 'stopped'
  worker: Worker | undefined
  restarts = 0
  startedAt: number | undefined
  readyAt: number | undefined
  lastHeartbeat: number | undefined
  /** when a slot in backoff may spawn again */
  retryAt = 0
  backoffMs = 0
  /** exit status of the last worker, for logs */
  lastExit: string | undefined

  constructor (readonly role: Role, readonly index: number) {}

  get name (): string { return `${this.role} worker ${this.index}` }

  spawned (worker: Worker, now: number): void {
    this.assert(['stopped', 'backoff'])
    this.worker = worker
    this.state = 'starting'
    this.startedAt = now
    this.readyAt = undefined
    this.lastHeartbeat = now
  }

  ready (now: number): void {
    this.assert(['starting'])
    this.state = 'ready'
    this.readyAt = now
    this.lastHeartbeat = now
  }

  draining (): void {
    this.assert(['starting', 'ready', 'draining'])
    this.state = 'draining'
  }

  /**
   * The worker process exited. Returns true when the exit was unexpected (a crash):
   * the slot then waits in backoff, doubling from 0.1 s to 30 s, reset after 60 s healthy.
   */
  exited (now: number, description: string, keepRunning: boolean): boolean {
    const crashed = this.state !== 'draining'
    this.worker = undefined
    this.lastExit = description
    if (!crashed || !keepRunning) {
      this.state = 'stopped'
      return crashed
    }
    const healthy = this.readyAt !== undefined && now - this.readyAt >= HEALTHY_RESET_MS
    this.backoffMs = healthy || this.backoffMs === 0 ? BACKOFF_FIRST_MS : Math.min(this.backoffMs * 2, BACKOFF_MAX_MS)
    this.retryAt = now + this.backoffMs
    this.restarts++
    this.state = 'backoff'
    return true
  }

  view (): SlotView {
    return {
      role: this.role,
      slot: this.index,
      pid: this.worker?.process.pid ?? null,
      state: this.state,
      started_at: this.startedAt !== undefined && this.worker !== undefined ? new Date(this.startedAt).toISOString() : null,
      restarts: this.restarts,
      last_heartbeat: this.lastHeartbeat !== undefined && this.worker !== undefined ? new Date(this.lastHeartbeat).toISOString() : null
    }
  }

  private assert (from: SlotState[]): void {
    if (!from.includes(this.state)) throw new Error(`${this.name}: invalid transition from ${this.state}`)
  }
}
