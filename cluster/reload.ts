// One HUP reload in progress: the new generation's slots (candidates), started with the new
// configuration next to the old workers. The supervisor commits when every candidate has
// reported ready (an http worker only after answering its own /health probe over its TLS),
// and abandons, old generation untouched, when one exits or is not ready within the bound.
// Gunicorn and PM2 retire the old generation first, so a bad deploy becomes an outage;
// here it becomes a log line and a systemd STATUS.
import type { Config } from '../src/config/settings'
import { Slot } from './slot'

/** how long a new worker may take to prove it is ready before the reload is abandoned */
export const RELOAD_READY_TIMEOUT_MS = 30_000

export type ReloadCheck = 'waiting' | 'ready' | 'failed'

export class Reload {
  readonly candidates: Slot[] = []
  /** why the reload failed, once it did */
  failure: string | undefined

  constructor (readonly config: Config, readonly generation: number, readonly startedAt: number) {
    for (let i = 1; i <= config.http_workers; i++) this.candidates.push(new Slot('http', i, generation))
    for (let i = 1; i <= config.queue_workers; i++) this.candidates.push(new Slot('queue', i, generation))
  }

  get deadline (): number { return this.startedAt + RELOAD_READY_TIMEOUT_MS }

  has (slot: Slot): boolean { return this.candidates.includes(slot) }

  candidateExited (slot: Slot, how: string): void {
    const problems = slot.lastProblems.length > 0 ? `: ${slot.lastProblems.join('; ')}` : ''
    this.failure ??= `new ${slot.name} exited (${how}) before it was ready${problems}`
  }

  check (now: number): ReloadCheck {
    if (this.failure !== undefined) return 'failed'
    if (this.candidates.every((s) => s.state === 'ready')) return 'ready'
    if (now >= this.deadline) {
      const late = this.candidates.filter((s) => s.state !== 'ready').map((s) => `new ${s.name}`)
      this.failure = `${late.join(', ')} not ready within ${RELOAD_READY_TIMEOUT_MS / 1000} s`
      return 'failed'
    }
    return 'waiting'
  }
}
