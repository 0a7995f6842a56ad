// The supervisor (cluster primary), read like Gunicorn's arbiter: signal handlers and
// worker events only record what happened and wake the loop; the loop handles the
// signals, then brings every slot to where it should be, advances a reload, reports to
// systemd, then sleeps.
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import type { Config } from '../src/config/settings'
import { ConfigError, EX_CONFIG } from '../src/config/load'
import { isMessage, type FromWorker, type MachineView, type Role, type StopReason, type ToWorker } from '../src/ipc'
import { HEALTHY_RESET_MS, Slot } from './slot'
import { RobotRegistry } from './robots'
import { Reload } from './reload'
import { monotonicUsec, type Notifier } from './sd-notify'
import { SystemdReport } from './systemd-report'
import { forkWorker } from './fork'
import { SupervisorMetrics } from './metrics'

const HANDLED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGTTIN', 'SIGTTOU'] as const
type HandledSignal = typeof HANDLED_SIGNALS[number]

const FAST_STOP_MS = 4500
const MAX_PING_INTERVAL_MS = 5000
/** an old http worker closes every connection at graceful_timeout_s itself; this is the backstop */
const RETIRE_MARGIN_MS = 5000
/** settings a HUP cannot change for the supervisor itself */
const RESTART_ONLY: Array<keyof Config> = ['pidfile', 'log_file', 'data_dir']

export interface SupervisorOptions {
  config: Config
  log: Logger
  /** called once when every initial worker reported ready */
  onReady: (addresses: string[]) => void
  reopenLogs: () => void
  /** reads and validates the configuration again, as at start (HUP); throws ConfigError */
  reloadConfig: () => Config
  notifier: Notifier
}

export class Supervisor {
  /** the serving generation's slots */
  private slots: Slot[] = []
  /** old workers finishing their work (after a reload, TTOU); dropped when they exit */
  private retiring: Slot[] = []
  private readonly retireDeadline = new Map<Slot, number>()
  private reload: Reload | undefined
  private reloadPending = false
  /** the last generation number given out, and the one serving (they differ after an abandoned reload) */
  private generation = 1
  private serving = 1
  private httpTarget: number
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
  private readonly metrics = new SupervisorMetrics()
  /** what STATUS= says beyond counts: a rejected config, a failed reload */
  private readonly notices: { config?: string, reload?: string } = {}
  private readonly systemd: SystemdReport

  constructor (private readonly opts: SupervisorOptions) {
    this.config = opts.config
    this.httpTarget = opts.config.http_workers
    this.log = opts.log
    this.robots = new RobotRegistry(opts.log)
    this.systemd = new SystemdReport(opts.notifier, opts.log)
  }

  async run (): Promise<number> {
    const onSignal = (sig: HandledSignal) => () => { this.pendingSignals.push(sig); this.wakeUp() }
    const handlers = HANDLED_SIGNALS.map((sig) => [sig, onSignal(sig)] as const)
    for (const [sig, handler] of handlers) process.on(sig, handler)
    cluster.on('exit', (worker, code, signal) => this.onWorkerExit(worker, code, signal))
    cluster.on('message', (worker, msg) => this.onWorkerMessage(worker, msg))

    for (let i = 1; i <= this.config.http_workers; i++) this.slots.push(new Slot('http', i, this.serving))
    for (let i = 1; i <= this.config.queue_workers; i++) this.slots.push(new Slot('queue', i, this.serving))

    while (true) {
      this.handleSignals()
      const now = Date.now()
      this.maintain(now)
      this.advanceReload(now)
      this.report(now)
      if (this.stopping !== undefined && this.allSlots().every((s) => s.worker === undefined)) break
      await this.sleep(this.nextWakeIn(Date.now()))
    }
    for (const [sig, handler] of handlers) process.off(sig, handler)
    this.log.info({ exit_code: this.exitCode }, 'supervisor stopped')
    return this.exitCode
  }

  private allSlots (): Slot[] {
    return [...this.slots, ...(this.reload?.candidates ?? []), ...this.retiring]
  }

  // ---- signals -------------------------------------------------------------

  private handleSignals (): void {
    for (let sig = this.pendingSignals.shift(); sig !== undefined; sig = this.pendingSignals.shift()) {
      this.log.info({ signal: sig }, 'signal received')
      switch (sig) {
        case 'SIGTERM': this.beginStop(this.stopping === 'graceful' ? 'fast' : 'graceful'); break
        case 'SIGINT':
        case 'SIGQUIT': this.beginStop('fast'); break
        case 'SIGHUP': this.reopenLogs(); this.requestReload(); break
        case 'SIGUSR1': this.reopenLogs(); break
        case 'SIGTTIN': this.scaleBy(1); break
        case 'SIGTTOU': this.scaleBy(-1); break
      }
    }
  }

  private reopenLogs (): void {
    this.opts.reopenLogs()
    this.log.info('log files reopened')
    this.broadcast({ t: 'reopen' })
  }

  private scaleBy (delta: number): void {
    if (this.stopping !== undefined) return
    if (this.httpTarget + delta < 1) {
      this.log.warn({ http_workers: this.httpTarget }, 'TTOU ignored: at least one http worker must stay')
      return
    }
    this.httpTarget += delta
    this.log.info({ http_workers: this.httpTarget }, `http workers ${delta > 0 ? 'increased' : 'decreased'}`)
  }

  private beginStop (mode: 'graceful' | 'fast'): void {
    if (this.stopping === 'fast' || this.stopping === mode) return
    this.stopping = mode
    const budget = mode === 'fast'
      ? FAST_STOP_MS
      : (this.config.graceful_timeout_s + this.config.cancel_grace_s) * 1000 + FAST_STOP_MS
    this.stopDeadline = Date.now() + budget
    this.opts.notifier.send({ STOPPING: '1' })
    this.log.info({ mode }, 'stopping')
    this.reloadPending = false
    if (this.reload !== undefined) {
      this.retiring.push(...this.reload.candidates)
      this.reload = undefined
    }
    for (const slot of this.allSlots()) {
      if (slot.worker === undefined) {
        slot.state = 'stopped'
        continue
      }
      slot.draining()
      this.send(slot.worker, { t: 'stop', fast: mode === 'fast', reason: 'shutdown' })
    }
    this.viewChanged()
  }

  // ---- housekeeping ----------------------------------------------------------

  private maintain (now: number): void {
    if (this.stopping !== undefined) {
      if (now >= this.stopDeadline) {
        for (const slot of this.allSlots()) {
          if (slot.worker !== undefined) {
            this.log.warn({ worker: slot.name, worker_pid: slot.worker.process.pid }, 'worker did not stop in time; killing it')
            slot.worker.process.kill('SIGKILL')
          }
        }
        this.stopDeadline = now + 1000
      }
      return
    }
    this.scale()
    for (const slot of this.slots) {
      if ((slot.state === 'stopped') || (slot.state === 'backoff' && now >= slot.retryAt)) this.spawn(slot, this.config, now)
      if (slot.checkHealthy(now)) {
        this.log.info({ worker: slot.name, restarts: slot.restarts }, 'worker healthy for 60 s; backoff reset')
        this.viewChanged()
      }
    }
    for (const slot of this.retiring) {
      if (slot.worker !== undefined && now >= (this.retireDeadline.get(slot) ?? Number.POSITIVE_INFINITY)) {
        this.log.warn({ worker: slot.name, worker_pid: slot.worker.process.pid, generation: slot.generation }, 'old worker did not finish in time; killing it')
        slot.worker.process.kill('SIGKILL')
        this.retireDeadline.delete(slot)
      }
    }
    this.heartbeat(now)
  }

  /** Brings the number of http slots to the target TTIN/TTOU set (not while a reload runs). */
  private scale (): void {
    if (this.reload !== undefined) return
    const http = this.slots.filter((s) => s.role === 'http')
    if (http.length < this.httpTarget) {
      const index = Math.max(0, ...http.map((s) => s.index)) + 1
      this.slots.splice(http.length, 0, new Slot('http', index, this.serving))
      this.viewChanged()
    } else if (http.length > this.httpTarget) {
      const victim = http.reduce((a, b) => (b.index > a.index ? b : a))
      this.slots = this.slots.filter((s) => s !== victim)
      this.retire(victim, 'shutdown')
      this.viewChanged()
    }
  }

  /** Tells a slot's worker to finish its work and exit; the slot leaves the serving set. */
  private retire (slot: Slot, reason: StopReason): void {
    if (slot.worker === undefined) return
    slot.draining()
    this.retiring.push(slot)
    // A queue worker told 'reload' waits for its robots however long they run.
    if (slot.role === 'http' || reason === 'shutdown') {
      const graceMs = (this.config.graceful_timeout_s + (slot.role === 'queue' ? this.config.cancel_grace_s : 0)) * 1000
      this.retireDeadline.set(slot, Date.now() + graceMs + RETIRE_MARGIN_MS)
    }
    this.send(slot.worker, { t: 'stop', fast: false, reason })
  }

  private heartbeat (now: number): void {
    const timeoutMs = this.config.worker_timeout_s * 1000
    for (const slot of this.allSlots()) {
      if (slot.worker === undefined) continue
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

  private spawn (slot: Slot, config: Config, now: number): void {
    const worker = forkWorker(slot.role)
    slot.spawned(worker, now)
    this.log.debug({ worker: slot.name, worker_pid: worker.process.pid, generation: slot.generation }, 'worker spawned')
    this.byWorker.set(worker.id, slot)
    this.send(worker, { t: 'init', config, role: slot.role, slot: slot.index, generation: slot.generation, view: this.view() })
    this.viewChanged()
  }

  // ---- reload (HUP) ------------------------------------------------------------

  private requestReload (): void {
    if (this.stopping !== undefined) return
    // One at a time; a HUP during a reload (or before the first start finished) runs after it.
    this.reloadPending = true
  }

  private advanceReload (now: number): void {
    if (this.stopping !== undefined) return
    if (this.reload === undefined) {
      if (this.reloadPending && this.everReady) {
        this.reloadPending = false
        this.startReload(now)
      }
      return
    }
    const r = this.reload
    for (const slot of r.candidates) if (slot.state === 'stopped' && r.failure === undefined) this.spawn(slot, r.config, now)
    const outcome = r.check(now)
    if (outcome === 'ready') this.commitReload(r, now)
    else if (outcome === 'failed') this.abandonReload(r)
  }

  private startReload (now: number): void {
    this.opts.notifier.send({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec() })
    let config: Config
    try {
      config = this.opts.reloadConfig()
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [`config: ${err instanceof Error ? err.message : String(err)}`]
      for (const problem of problems) this.log.error({ problem }, `config reload rejected: ${problem}`)
      this.log.error('HUP: the configuration is invalid; everything keeps running with the old one')
      this.notices.config = `config invalid at ${clock(now)}, HUP ignored: ${problems.join('; ')}`
      this.opts.notifier.send({ READY: '1' })
      return
    }
    this.notices.config = undefined
    for (const key of RESTART_ONLY) {
      if (JSON.stringify(config[key]) !== JSON.stringify(this.config[key])) this.log.warn({ key }, `${key} changed: the supervisor applies it at the next start (workers use it now)`)
    }
    this.reload = new Reload(config, ++this.generation, now)
    this.log.info({ generation: this.generation, http_workers: config.http_workers, queue_workers: config.queue_workers }, 'reloading: starting new workers beside the old ones')
    this.viewChanged()
  }

  private commitReload (r: Reload, now: number): void {
    this.reload = undefined
    const old = this.slots
    this.slots = r.candidates
    this.serving = r.generation
    this.config = r.config
    this.httpTarget = r.config.http_workers
    for (const slot of old) {
      this.addresses.delete(slot)
      this.retire(slot, 'reload')
    }
    this.notices.reload = undefined
    this.log.info({ generation: r.generation, ms: now - r.startedAt }, 'reload complete: new workers serving, old ones finishing their work')
    this.opts.notifier.send({ READY: '1' })
    this.viewChanged()
  }

  private abandonReload (r: Reload): void {
    this.reload = undefined
    for (const slot of r.candidates) {
      if (slot.worker === undefined) continue
      if (slot.state === 'ready') {
        this.retire(slot, 'reload') // a new queue worker may already run robots: let them finish
      } else {
        slot.draining()
        this.retiring.push(slot)
        slot.worker.process.kill('SIGKILL')
      }
    }
    const message = `reload to generation ${r.generation} abandoned: ${r.failure ?? 'unknown'}; generation ${this.serving} keeps serving`
    this.log.error({ generation: r.generation }, message)
    this.notices.reload = `${message} (at ${clock(Date.now())})`
    this.opts.notifier.send({ READY: '1' })
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
        this.log.info({ worker: slot.name, worker_pid: worker.process.pid, generation: slot.generation, probe_ms: msg.probe_ms }, 'worker ready')
        this.viewChanged()
        if (!this.everReady && this.slots.every((s) => s.state === 'ready')) {
          this.everReady = true
          this.opts.notifier.send({ READY: '1' })
          this.opts.onReady([...new Set(this.addresses.values())])
        }
        break
      case 'metrics-req':
        this.answerMetrics(worker, msg.id)
        break
      case 'metrics-json':
        this.metrics.answered(worker, msg.id, msg.metrics)
        break
      case 'robot':
        if (msg.event === 'started') this.robots.started(worker.process.pid!, msg.execution_id, msg.pgid)
        else this.robots.ended(worker.process.pid!, msg.execution_id)
        break
      case 'fatal':
        slot.lastProblems = msg.problems
        if (msg.code === EX_CONFIG && !this.everReady && this.stopping === undefined) {
          this.log.error({ worker: slot.name, code: msg.code, problems: msg.problems }, 'worker failed to start')
          // Gunicorn halts when a worker cannot boot: a bad config would only crash-loop.
          this.exitCode = EX_CONFIG
          this.beginStop('fast')
        }
        break
    }
    this.wakeUp()
  }

  private answerMetrics (worker: Worker, id: number): void {
    const slots = [...this.slots, ...this.retiring]
    const restarts: Record<string, number> = { http: 0, queue: 0 }
    for (const s of slots) restarts[s.role] += s.restarts
    this.metrics.collect(slots, restarts, (w, collectId) => this.send(w, { t: 'metrics-collect', id: collectId })).then(
      (text) => this.send(worker, { t: 'metrics', id, text }),
      (err: Error) => this.send(worker, { t: 'metrics', id, error: err.message })
    )
  }

  private onWorkerExit (worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.byWorker.get(worker.id)
    this.byWorker.delete(worker.id)
    if (worker.process.pid !== undefined) this.robots.killOrphans(worker.process.pid)
    if (slot === undefined || slot.worker !== worker) return
    this.addresses.delete(slot)
    const now = Date.now()
    const how = signal !== null ? `signal ${signal}` : `code ${String(code)}`
    const fields = { worker: slot.name, worker_pid: worker.process.pid, generation: slot.generation, exit: how }
    if (this.retiring.includes(slot)) {
      slot.exited(now, how, false)
      this.retiring = this.retiring.filter((s) => s !== slot)
      this.retireDeadline.delete(slot)
      this.log.info(fields, 'old worker exited')
    } else if (this.reload?.has(slot) === true) {
      slot.exited(now, how, false)
      this.reload.candidateExited(slot, how)
      this.log.error({ ...fields, problems: slot.lastProblems }, 'new worker exited during reload')
    } else {
      this.activeExited(slot, now, how, fields, code)
    }
    this.viewChanged()
    this.wakeUp()
  }

  private activeExited (slot: Slot, now: number, how: string, fields: Record<string, unknown>, code: number | null): void {
    const { crashed, newStep } = slot.exited(now, how, this.stopping === undefined)
    if (!crashed || this.stopping !== undefined) {
      this.log.info(fields, 'worker stopped')
    } else {
      // Once per backoff step, not per crash: a worker failing every 30 s logs once.
      const level = newStep ? 'error' : 'debug'
      const details = { ...fields, restarts: slot.restarts, streak: slot.streak, retry_in_ms: slot.backoffMs, problems: slot.lastProblems.length > 0 ? slot.lastProblems : undefined }
      this.log[level](details, slot.crashLoop ? `worker crash loop: next try in ${slot.backoffMs} ms` : 'worker died; replacing it')
    }
    if (code === EX_CONFIG && !this.everReady && this.stopping === undefined) {
      this.exitCode = EX_CONFIG
      this.beginStop('fast')
    }
  }

  // ---- machine view and systemd --------------------------------------------------

  private view (): MachineView {
    const now = Date.now()
    const count = (role: Role): number => this.slots.filter((s) => s.role === role && s.state === 'ready').length
    return {
      started_at: this.startedAt,
      draining: this.stopping !== undefined,
      degraded: this.stopping !== undefined ? [] : this.problems(now),
      workers: { http: count('http'), queue: count('queue') },
      slots: this.allSlots().map((s) => s.view())
    }
  }

  private problems (now: number): string[] {
    return this.slots.map((s) => s.describe(now)).filter((d): d is string => d !== undefined)
  }

  /** slots an operator should hear about: crash loops and workers waiting to be replaced */
  private troubled (now: number): string[] {
    return this.slots.filter((s) => s.crashLoop || s.state === 'backoff').map((s) => s.describe(now)!)
  }

  /** STATUS= on every change, WATCHDOG=1 every half WATCHDOG_USEC while heartbeats are fresh. */
  private report (now: number): void {
    if (!this.systemd.enabled) return
    const ready = (role: Role): number => this.slots.filter((s) => s.role === role && s.state === 'ready').length
    this.systemd.status({
      http: { ready: ready('http'), target: this.httpTarget },
      queue: { ready: ready('queue'), target: this.config.queue_workers },
      executions: this.robots.count(),
      stopping: this.stopping,
      reloading: this.reload?.generation,
      problems: this.stopping === undefined ? this.troubled(now) : [],
      notices: [this.notices.config, this.notices.reload].filter((n): n is string => n !== undefined)
    })
    this.systemd.watchdog(now, () => this.staleWorkers(now))
  }

  /** Workers whose heartbeat is older than worker_timeout_s (see SystemdReport.watchdog). */
  private staleWorkers (now: number): string[] {
    const limit = this.config.worker_timeout_s * 1000
    return this.allSlots()
      .filter((s) => s.worker !== undefined && (s.lastHeartbeat === undefined || now - s.lastHeartbeat > limit))
      .map((s) => s.name)
  }

  /** Coalesces state changes into one view broadcast per tick. */
  private viewChanged (): void {
    if (this.viewQueued) return
    this.viewQueued = true
    setImmediate(() => {
      this.viewQueued = false
      this.broadcast({ t: 'view', view: this.view() })
      this.wakeUp()
    })
  }

  private broadcast (msg: ToWorker): void {
    for (const slot of this.allSlots()) if (slot.worker !== undefined) this.send(slot.worker, msg)
  }

  private send (worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg, (err: Error | null) => { if (err) this.log.debug({ err }, 'ipc send failed') })
  }

  // ---- loop timing -----------------------------------------------------------

  private nextWakeIn (now: number): number {
    let next = this.lastPingAt + this.pingInterval()
    for (const slot of this.slots) {
      if (slot.state === 'backoff') next = Math.min(next, slot.retryAt)
      if (slot.streak > 0 && slot.state === 'ready' && slot.readyAt !== undefined) next = Math.min(next, slot.readyAt + HEALTHY_RESET_MS)
    }
    for (const deadline of this.retireDeadline.values()) next = Math.min(next, deadline)
    if (this.reload !== undefined) next = Math.min(next, this.reload.deadline)
    if (this.stopping !== undefined) next = Math.min(next, this.stopDeadline)
    next = Math.min(next, this.systemd.wakeAt ?? Number.POSITIVE_INFINITY)
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

function clock (ms: number): string {
  return new Date(ms).toISOString().slice(11, 19) + 'Z'
}
