// A queue worker's loop: take executions while this worker has a free slot and the
// machine-wide cap allows (the claim script decides both atomically in Redis, best
// priority first), run them, and take the next as soon as anything frees. Nothing is
// taken ahead of a free slot, so no job waits behind a long-running robot (Celery's
// prefetch trap). Woken by pub/sub; a slow poll covers a lost message.
import type Redis from 'ioredis'
import { Execution, type ExecutorDeps, type StopReason } from './executor'
import { reapLost } from './reaper'

const POLL_MS = 1000
const REAP_MS = 2000

export class Dispatcher {
  private readonly running = new Map<string, Execution>()
  private accepting = true
  private pumping = false
  private pumpAgain = false
  private timers: NodeJS.Timeout[] = []

  constructor (private readonly deps: ExecutorDeps, private readonly sub: Redis) {}

  async start (): Promise<void> {
    const { keys } = this.deps
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === keys.cancelChannel) this.running.get(message)?.stop('cancelled')
      else this.pump()
    })
    await this.sub.subscribe(keys.wakeChannel, keys.cancelChannel)
    await this.reap()
    this.timers.push(setInterval(() => this.pump(), POLL_MS), setInterval(() => { void this.reap() }, REAP_MS))
    this.pump()
  }

  get count (): number { return this.running.size }

  /** Claims until this worker is full or nothing can start; single-flight. */
  pump (): void {
    if (this.pumping) { this.pumpAgain = true; return }
    this.pumping = true
    void this.claimLoop().finally(() => {
      this.pumping = false
      if (this.pumpAgain) { this.pumpAgain = false; this.pump() }
    })
  }

  private async claimLoop (): Promise<void> {
    const { store, config, logger } = this.deps
    while (this.accepting && this.running.size < config.concurrency) {
      let claimed
      try {
        claimed = await store.claim(process.pid)
      } catch (err) {
        logger.warn({ err }, 'claim failed (Redis?)')
        return
      }
      if (claimed === undefined) return
      const execution = new Execution(this.deps, claimed.record, claimed.secrets)
      this.running.set(execution.id, execution)
      logger.info({ execution_id: execution.id, robot: claimed.record.robot, attempt: claimed.record.attempt }, 'execution started')
      void execution.done.then(() => {
        this.running.delete(execution.id)
        this.pump()
      })
    }
  }

  private async reap (): Promise<void> {
    try {
      await reapLost(this.deps)
    } catch (err) {
      this.deps.logger.warn({ err }, 'reaper failed')
    }
  }

  /**
   * shutdown: finish running robots up to graceful_timeout_s, then cancel them;
   * fast: cancel now (SIGTERM, SIGKILL after at most 3 s); reload: take nothing new and
   * wait for the running robots, however long they take.
   */
  async stop (mode: 'shutdown' | 'fast' | 'reload'): Promise<void> {
    this.accepting = false
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    const all = (): Promise<unknown> => Promise.all([...this.running.values()].map((e) => e.done))
    const cancelAll = (reason: StopReason, grace: number): void => { for (const e of this.running.values()) e.stop(reason, grace) }
    if (mode === 'fast') {
      cancelAll('shutdown', Math.min(this.deps.config.cancel_grace_s, 3))
    } else if (mode === 'shutdown') {
      const timer = setTimeout(() => cancelAll('shutdown', this.deps.config.cancel_grace_s), this.deps.config.graceful_timeout_s * 1000)
      await all()
      clearTimeout(timer)
    }
    await all()
    await this.sub.quit().catch(() => {})
  }
}
