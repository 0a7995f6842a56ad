// What every worker process shares: wait for the supervisor's init message, start,
// report ready, answer heartbeats, stop on request, and never outlive the supervisor.
import type { Logger } from 'pino'
import client from 'prom-client'
import { secretValues } from './config/redact'
import type { Config } from './config/settings'
import { EX_CONFIG } from './config/load'
import { fileLogger } from './log'
import { isMessage, type FromWorker, type MachineView, type Role, type StopReason, type ToWorker } from './ipc'

export interface WorkerContext {
  config: Config
  role: Role
  slot: number
  generation: number
  logger: Logger
  secrets: readonly string[]
  /** the latest machine view from the supervisor */
  view: () => MachineView
}

export interface WorkerHandle {
  /**
   * Resolves when the worker may exit: graceful finishes in-flight work, fast does not wait.
   * reason 'reload': this is an old generation after HUP (a queue worker then waits for its
   * robots with no deadline). Called again when a stop escalates: fast after graceful, or
   * 'shutdown' after 'reload'; the first promise to resolve ends the process.
   */
  stop: (fast: boolean, reason: StopReason) => Promise<void>
  reopenLogs?: () => void
  address?: string
  /** how long the worker's own readiness probe took (http) */
  probeMs?: number
}

/** A start-up failure that is the configuration's fault: the worker exits 78. */
export class WorkerConfigError extends Error {}

const send = (msg: FromWorker): void => { if (process.connected) process.send?.(msg) }

export function runWorker (role: Role, start: (ctx: WorkerContext) => Promise<WorkerHandle>): void {
  let handle: WorkerHandle | undefined
  let view: MachineView | undefined
  let stopping: { fast: boolean, reason: StopReason } | undefined
  let appLog: ReturnType<typeof fileLogger> | undefined

  const exit = (code: number): void => {
    appLog?.flush()
    process.exit(code)
  }
  const runStop = (fast: boolean, reason: StopReason): void => {
    handle!.stop(fast, reason).then(() => exit(0), (err: unknown) => {
      appLog?.logger.error({ err }, 'worker stop failed')
      exit(1)
    })
  }
  const stop = (fast: boolean, reason: StopReason): void => {
    if (stopping !== undefined) {
      const escalates = (fast && !stopping.fast) || (reason === 'shutdown' && stopping.reason === 'reload')
      if (!escalates) return
    } else if (reason === 'reload') {
      process.title += ' (old)' // ps tells the draining generation from the serving one
    }
    stopping = { fast: fast || stopping?.fast === true, reason }
    if (handle !== undefined) runStop(stopping.fast, reason) // else: stops as soon as it has started
  }

  process.on('message', (raw: unknown) => {
    if (!isMessage(raw)) return
    const msg = raw as ToWorker
    switch (msg.t) {
      case 'init': {
        const { config, slot, generation } = msg
        view = msg.view
        process.title = `robotrunner: ${role} worker ${slot}`
        const secrets = secretValues(config)
        appLog = fileLogger(config.log_file, config.log_level, secrets, { role, slot, pid: process.pid, generation })
        const ctx: WorkerContext = { config, role, slot, generation, logger: appLog.logger, secrets, view: () => view! }
        start(ctx).then((h) => {
          handle = h
          if (stopping !== undefined) return runStop(true, stopping.reason)
          send({ t: 'ready', address: h.address, probe_ms: h.probeMs })
        }, (err: unknown) => {
          const code = err instanceof WorkerConfigError ? EX_CONFIG : 1
          const problem = err instanceof Error ? err.message : String(err)
          // The supervisor logs it, once per backoff step; log here only when it cannot.
          if (process.connected) {
            const msg: FromWorker = { t: 'fatal', code, problems: [problem] }
            process.send!(msg, () => exit(code))
          } else {
            appLog?.logger.fatal({ err }, `${role} worker ${slot} failed to start`)
            exit(code)
          }
        })
        break
      }
      case 'ping': send({ t: 'pong', n: msg.n }); break
      case 'view': view = msg.view; break
      case 'metrics-collect':
        client.register.getMetricsAsJSON().then((metrics) => send({ t: 'metrics-json', id: msg.id, metrics }), () => send({ t: 'metrics-json', id: msg.id, metrics: [] }))
        break
      case 'reopen':
        appLog?.reopen()
        handle?.reopenLogs?.()
        appLog?.logger.info('log files reopened')
        break
      case 'stop': stop(msg.fast, msg.reason ?? 'shutdown'); break
    }
  })
  // The supervisor is gone (even SIGKILLed): stop at once rather than run unsupervised.
  process.on('disconnect', () => stop(true, 'shutdown'))
  // Signals go to the supervisor; a worker ignores the terminal's INT/TERM group signals
  // and waits for the supervisor's orderly 'stop'.
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => stop(false, 'shutdown'))
  process.on('SIGHUP', () => {})
  // Scaling and log signals are the supervisor's. Sent to the whole cgroup by mistake they
  // must not do their defaults here: TTIN/TTOU stop the process, and SIGUSR1 without a
  // listener makes Node open its inspector (a debugger port).
  for (const sig of ['SIGUSR1', 'SIGTTIN', 'SIGTTOU'] as const) process.on(sig, () => {})
}
