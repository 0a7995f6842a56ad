// One worker slot and its small state machine:
//
//   stopped ──spawn──► starting ──ready──► ready ──drain──► draining ──exit──► stopped
//      ▲                  │                  │
//      └──── backoff ◄────┴──── exit ────────┘   (unexpected exit: wait, then spawn again)
//
// A slot holds one worker process of one generation (configuration). A HUP reload makes
// new slots for the new generation; the old ones drain and are dropped when they exit.
// The supervisor loop is the only caller; a slot never acts on its own.
import type { Worker } from 'node:cluster'
import type { Role, SlotView } from '../src/ipc'

export type SlotState = 'stopped' | 'backoff' | 'starting' | 'ready' | 'draining'

export const BACKOFF_FIRST_MS = 100
export const BACKOFF_MAX_MS = 30_000
export const HEALTHY_RESET_MS = 60_000
/** crashes in a row (no 60 s of health between them) that make a crash loop */
export const CRASH_LOOP_STREAK = 3

export interface ExitOutcome {
  /** the exit was unexpected */
  crashed: boolean
  /** the backoff delay changed with this crash: log it (once per step, not per crash) */
  newStep: boolean
}

export class Slot {
  state: SlotState = 'stopped'
  worker: Worker | undefined
  /** replacements since the supervisor started */
  restarts = 0
  /** crashes since the slot was last healthy for 60 s */
  streak = 0
  startedAt: number | undefined
  readyAt: number | undefined
  lastHeartbeat: number | undefined
  /** when a slot in backoff may spawn again */
  retryAt = 0
  backoffMs = 0
  /** exit status of the last worker, for logs and the view */
  lastExit: string | undefined
  /** what the last worker reported when it failed to start */
  lastProblems: string[] = []

  constructor (readonly role: Role, readonly index: number, readonly generation: number) {}

  get name (): string { return `${this.role} worker ${this.index}` }

  get crashLoop (): boolean { return this.streak >= CRASH_LOOP_STREAK }

  spawned (worker: Worker, now: number): void {
    this.assert(['stopped', 'backoff'])
    this.worker = worker
    this.state = 'starting'
    this.startedAt = now
    this.readyAt = undefined
    this.lastHeartbeat = now
    this.lastProblems = []
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

  /** A slot ready for 60 s is healthy again: its backoff starts over. True when that just happened. */
  checkHealthy (now: number): boolean {
    if (this.state !== 'ready' || this.streak === 0 || this.readyAt === undefined || now - this.readyAt < HEALTHY_RESET_MS) return false
    this.streak = 0
    this.backoffMs = 0
    return true
  }

  /**
   * The worker process exited. An unexpected exit (a crash) puts the slot in backoff,
   * doubling from 0.1 s to 30 s, reset after 60 s healthy.
   */
  exited (now: number, description: string, keepRunning: boolean): ExitOutcome {
    const crashed = this.state !== 'draining'
    this.worker = undefined
    this.lastExit = description
    if (!crashed || !keepRunning) {
      this.state = 'stopped'
      return { crashed, newStep: false }
    }
    this.checkHealthy(now)
    const previous = this.backoffMs
    this.backoffMs = previous === 0 ? BACKOFF_FIRST_MS : Math.min(previous * 2, BACKOFF_MAX_MS)
    this.retryAt = now + this.backoffMs
    this.restarts++
    this.streak++
    this.state = 'backoff'
    return { crashed: true, newStep: this.backoffMs !== previous }
  }

  /** One line for /ready, STATUS and logs when the slot is not simply up. */
  describe (now: number): string | undefined {
    if (this.state === 'ready' && !this.crashLoop) return undefined
    const parts = [`${this.name} ${this.crashLoop ? 'crash loop' : this.state}`]
    if (this.restarts > 0) parts.push(`restarts ${this.restarts}, last exit ${this.lastExit ?? '?'}`)
    if (this.state === 'backoff') parts.push(`next try in ${((this.retryAt - now) / 1000).toFixed(1)} s`)
    if (this.lastProblems.length > 0) parts.push(this.lastProblems.join('; '))
    return parts.length === 1 ? parts[0] : `${parts[0]} (${parts.slice(1).join(', ')})`
  }

  view (): SlotView {
    return {
      role: this.role,
      slot: this.index,
      pid: this.worker?.process.pid ?? null,
      state: this.state,
      started_at: this.startedAt !== undefined && this.worker !== undefined ? new Date(this.startedAt).toISOString() : null,
      restarts: this.restarts,
      last_heartbeat: this.lastHeartbeat !== undefined && this.worker !== undefined ? new Date(this.lastHeartbeat).toISOString() : null,
      generation: this.generation,
      crash_loop: this.crashLoop,
      last_exit: this.lastExit ?? null
    }
  }

  private assert (from: SlotState[]): void {
    if (!from.includes(this.state)) throw new Error(`${this.name}: invalid transition from ${this.state}`)
  }
}
