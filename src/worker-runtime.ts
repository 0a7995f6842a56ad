// What every worker process shares: wait for the supervisor's init message, start,
// report ready, answer heartbeats, stop on request, and never outlive the supervisor.
import type { Logger } from 'pino'
import { secretValues } from './config/redact'
import type { Config } from './config/settings'
import { EX_CONFIG } from './config/load'
import { fileLogger } from './log'
import { isMessage, type FromWorker, type MachineView, type Role, type ToWorker } from './ipc'

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
  /** resolves when the worker may exit: graceful finishes in-flight work, fast does not wait */
  stop: (fast: boolean) => Promise<void>
  reopenLogs?: () => void
  address?: string
}

/** A start-up failure that is the configuration's fault: the worker exits 78. */
export class WorkerConfigError extends Error {}

const send = (msg: FromWorker): void => { if (process.connected) process.send?.(msg) }

export function runWorker (role: Role, start: (ctx: WorkerContext) => Promise<WorkerHandle>): void {
  let handle: WorkerHandle | undefined
  let view: MachineView | undefined
  let stopping = false
  let appLog: ReturnType<typeof fileLogger> | undefined

  const exit = (code: number): void => {
    appLog?.flush()
    process.exit(code)
  }
  const stop = (fast: boolean): void => {
    if (stopping && !fast) return
    stopping = true
    const done = handle !== undefined ? handle.stop(fast) : Promise.resolve()
    done.then(() => exit(0), (err: unknown) => {
      appLog?.logger.error({ err }, 'worker stop failed')
      exit(1)
    })
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
        appLog = fileLogger(config.log_file, config.log_level, secrets, { role, slot, pid: process.pid })
        const ctx: WorkerContext = { config, role, slot, generation, logger: appLog.logger, secrets, view: () => view! }
        start(ctx).then((h) => {
          handle = h
          if (stopping) return stop(true)
          send({ t: 'ready', address: h.address })
        }, (err: unknown) => {
          const code = err instanceof WorkerConfigError ? EX_CONFIG : 1
          const problem = err instanceof Error ? err.message : String(err)
          appLog?.logger.fatal({ err }, `${role} worker ${slot} failed to start`)
          send({ t: 'fatal', code, problems: [problem] })
          exit(code)
        })
        break
      }
      case 'ping': send({ t: 'pong', n: msg.n }); break
      case 'view': view = msg.view; break
      case 'reopen': appLog?.reopen(); handle?.reopenLogs?.(); break
      case 'stop': stop(msg.fast); break
    }
  })
  // The supervisor is gone (even SIGKILLed): stop at once rather than run unsupervised.
  process.on('disconnect', () => stop(true))
  // Signals go to the supervisor; a worker ignores the terminal's INT/TERM group signals
  // and waits for the supervisor's orderly 'stop'.
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => stop(false))
  process.on('SIGHUP', () => {})
}
