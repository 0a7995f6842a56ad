// The supervisor (cluster primary), read like Gunicorn's arbiter: signal handlers and
// worker events only record what happened and wake the loop; the loop handles the
// signals, then brings every slot to where it should be, then sleeps.
import cluster, { type Worker } from 'node:cluster'
import path from 'node:path'
import type { Logger } from 'pino'
import type { Config } from '../src/config/settings'
import { EX_CONFIG } from '../src/config/load'
import { isMessage, type FromWorker, type MachineView, type Role, type ToWorker } from '../src/ipc'
import { Slot } from './slot'
import { RobotRegistry } from './robots'

const HANDLED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1'] as const
type HandledSignal = typeof HANDLED_SIGNALS[number]

const FAST_STOP_MS = 4500
const MAX_PING_INTERVAL_MS = 5000

export interface SupervisorOptions {
  config: Config
  log: Logger
  /** called once when every initial worker reported ready */
  onReady: (addresses: string[]) => void
  reopenLogs: () => void
}

export class Supervisor {
  private readonly slots: Slot[] = []
  private readonly pendingSignals: HandledSignal[] = []
  private readonly startedAt = new Date().toISOString()
  private readonly byWorker = new Map<number, Slot>()
  private readonly addresses = new Map<Slot, string>()
  private config: Config
  private readonly log: Logger
  private stopping: 'graceful' | 'fast' | undefined
  private stopDeadline = Number.POSITIVE_INFINITY
  private everReady = false
  private exitCode = 0
  private pingCounter = 0
  private lastPingAt = 0
  private wakeUp: () => void = () => {}
  private viewQueued = false
  private readonly robots: RobotRegistry

  constructor (private readonly opts: SupervisorOptions) {
    this.config = opts.config
    this.log = opts.log
    this.robots = new RobotRegistry(opts.log)
  }

  async run (): Promise<number> {
    const onSignal = (sig: HandledSignal) => () => { this.pendingSignals.push(sig); this.wakeUp() }
    const handlers = HANDLED_SIGNALS.map((sig) => [sig, onSignal(sig)] as const)
    for (const [sig, handler] of handlers) process.on(sig, handler)
    cluster.on('exit', (worker, code, signal) => this.onWorkerExit(worker, code, signal))
    cluster.on('message', (worker, msg) => this.onWorkerMessage(worker, msg))

    for (let i = 1; i <= this.config.http_workers; i++) this.slots.push(new Slot('http', i))
    for (let i = 1; i <= this.config.queue_workers; i++) this.slots.push(new Slot('queue', i))

    while (true) {
      this.handleSignals()
      this.maintain(Date.now())
      if (this.stopping !== undefined && this.slots.every((s) => s.worker === undefined)) break
      await this.sleep(this.nextWakeIn(Date.now()))
    }
    for (const [sig, handler] of handlers) process.off(sig, handler)
    this.log.info({ exit_code: this.exitCode }, 'supervisor stopped')
    return this.exitCode
  }

  // ---- signals -------------------------------------------------------------

  private handleSignals (): void {
    for (let sig = this.pendingSignals.shift(); sig !== undefined; sig = this.pendingSignals.shift()) {
      this.log.info({ signal: sig }, 'signal received')
      switch (sig) {
        case 'SIGTERM': this.beginStop(this.stopping === 'graceful' ? 'fast' : 'graceful'); break
        case 'SIGINT':
        case 'SIGQUIT': this.beginStop('fast'); break
        case 'SIGHUP':
        case 'SIGUSR1': this.reopenLogs(); break
      }
    }
  }

  private reopenLogs (): void {
    this.opts.reopenLogs()
    this.broadcast({ t: 'reopen' })
  }

  private beginStop (mode: 'graceful' | 'fast'): void {
    if (this.stopping === 'fast' || this.stopping === mode) return
    this.stopping = mode
    const budget = mode === 'fast'
      ? FAST_STOP_MS
      : (this.config.graceful_timeout_s + this.config.cancel_grace_s) * 1000 + FAST_STOP_MS
    this.stopDeadline = Date.now() + budget
    this.log.info({ mode }, 'stopping')
    for (const slot of this.slots) {
      if (slot.worker === undefined) {
        slot.state = 'stopped'
        continue
      }
      slot.draining()
      this.send(slot.worker, { t: 'stop', fast: mode === 'fast' })
    }
    this.viewChanged()
  }

  // ---- housekeeping ----------------------------------------------------------

  private maintain (now: number): void {
    if (this.stopping !== undefined) {
      if (now >= this.stopDeadline) {
        for (const slot of this.slots) {
          if (slot.worker !== undefined) {
            this.log.warn({ worker: slot.name, worker_pid: slot.worker.process.pid }, 'worker did not stop in time; killing it')
            slot.worker.process.kill('SIGKILL')
          }
        }
        this.stopDeadline = now + 1000
      }
      return
    }
    for (const slot of this.slots) {
      if ((slot.state === 'stopped') || (slot.state === 'backoff' && now >= slot.retryAt)) this.spawn(slot, now)
    }
    this.heartbeat(now)
  }

  private heartbeat (now: number): void {
    const timeoutMs = this.config.worker_timeout_s * 1000
    for (const slot of this.slots) {
      if (slot.worker === undefined || slot.state === 'draining') continue
      if (slot.lastHeartbeat !== undefined && now - slot.lastHeartbeat > timeoutMs) {
        this.log.error({ worker: slot.name, worker_pid: slot.worker.process.pid, state: slot.state }, `worker did not answer for ${this.config.worker_timeout_s} s; killing it`)
        slot.worker.process.kill('SIGKILL')
        slot.lastHeartbeat = undefined
      }
    }
    if (now - this.lastPingAt >= this.pingInterval()) {
      this.lastPingAt = now
      this.broadcast({ t: 'ping', n: ++this.pingCounter })
    }
  }

  private pingInterval (): number {
    return Math.min(MAX_PING_INTERVAL_MS, (this.config.worker_timeout_s * 1000) / 4)
  }

  private spawn (slot: Slot, now: number): void {
    cluster.setupPrimary({ exec: workerEntry(slot.role), args: [], silent: false })
    const worker = cluster.fork(workerEnv())
    slot.spawned(worker, now)
    this.byWorker.set(worker.id, slot)
    this.send(worker, { t: 'init', config: this.config, role: slot.role, slot: slot.index, generation: 1, view: this.view() })
    this.viewChanged()
  }

  // ---- worker events -------------------------------------------------------

  private onWorkerMessage (worker: Worker, raw: unknown): void {
    const slot = this.byWorker.get(worker.id)
    if (slot === undefined || !isMessage(raw)) return
    const msg = raw as FromWorker
    switch (msg.t) {
      case 'pong':
        slot.lastHeartbeat = Date.now()
        break
      case 'ready':
        if (slot.state !== 'starting') break
        slot.ready(Date.now())
        if (msg.address !== undefined) this.addresses.set(slot, msg.address)
        this.log.info({ worker: slot.name, worker_pid: worker.process.pid }, 'worker ready')
        this.viewChanged()
        if (!this.everReady && this.slots.every((s) => s.state === 'ready')) {
          this.everReady = true
          this.opts.onReady([...new Set(this.addresses.values())])
        }
        break
      case 'robot':
        if (msg.event === 'started') this.robots.started(worker.process.pid!, msg.execution_id, msg.pgid)
        else this.robots.ended(worker.process.pid!, msg.execution_id)
        break
      case 'fatal':
        this.log.error({ worker: slot.name, code: msg.code, problems: msg.problems }, 'worker failed to start')
        if (msg.code === EX_CONFIG && !this.everReady) {
          // Gunicorn halts when a worker cannot boot: a bad config would only crash-loop.
          this.exitCode = EX_CONFIG
          this.beginStop('fast')
        }
        break
    }
    this.wakeUp()
  }

  private onWorkerExit (worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.byWorker.get(worker.id)
    this.byWorker.delete(worker.id)
    if (worker.process.pid !== undefined) this.robots.killOrphans(worker.process.pid)
    if (slot === undefined || slot.worker !== worker) return
    this.addresses.delete(slot)
    const how = signal !== null ? `signal ${signal}` : `code ${String(code)}`
    const crashed = slot.exited(Date.now(), how, this.stopping === undefined)
    if (crashed && this.stopping === undefined) {
      this.log.error({ worker: slot.name, worker_pid: worker.process.pid, exit: how, restarts: slot.restarts, retry_in_ms: slot.backoffMs }, 'worker died; replacing it')
    } else {
      this.log.info({ worker: slot.name, worker_pid: worker.process.pid, exit: how }, 'worker stopped')
    }
    if (code === EX_CONFIG && !this.everReady && this.stopping === undefined) {
      this.exitCode = EX_CONFIG
      this.beginStop('fast')
    }
    this.viewChanged()
    this.wakeUp()
  }

  // ---- machine view ----------------------------------------------------------

  private view (): MachineView {
    const count = (role: Role): number => this.slots.filter((s) => s.role === role && s.state === 'ready').length
    return {
      started_at: this.startedAt,
      draining: this.stopping !== undefined,
      degraded: this.stopping !== undefined
        ? []
        : this.slots.filter((s) => s.state !== 'ready').map((s) => `${s.name} ${s.state}${s.restarts > 0 ? ` (restarts ${s.restarts}, last exit ${s.lastExit ?? '?'})` : ''}`),
      workers: { http: count('http'), queue: count('queue') },
      slots: this.slots.map((s) => s.view())
    }
  }

  /** Coalesces state changes into one view broadcast per tick. */
  private viewChanged (): void {
    if (this.viewQueued) return
    this.viewQueued = true
    setImmediate(() => {
      this.viewQueued = false
      this.broadcast({ t: 'view', view: this.view() })
    })
  }

  private broadcast (msg: ToWorker): void {
    for (const slot of this.slots) if (slot.worker !== undefined) this.send(slot.worker, msg)
  }

  private send (worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg, (err: Error | null) => { if (err) this.log.debug({ err }, 'ipc send failed') })
  }

  // ---- loop timing -----------------------------------------------------------

  private nextWakeIn (now: number): number {
    let next = this.lastPingAt + this.pingInterval()
    for (const slot of this.slots) if (slot.state === 'backoff') next = Math.min(next, slot.retryAt)
    if (this.stopping !== undefined) next = Math.min(next, this.stopDeadline)
    return Math.max(0, next - now)
  }

  private sleep (ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done (): void { clearTimeout(timer); resolve() }
      this.wakeUp = done
    })
  }
}

function workerEntry (role: Role): string {
  return path.join(__dirname, '..', 'src', role, 'worker.js')
}

/**
 * Workers get their configuration over IPC, so their environment (and their robots')
 * carries no RR_* setting (which may hold the token) and nothing meant for systemd.
 */
function workerEnv (): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('RR_') || name === 'NOTIFY_SOCKET' || name.startsWith('WATCHDOG_')) env[name] = undefined
  }
  return env
}
