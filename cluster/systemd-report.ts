// What the supervisor tells systemd on every loop pass: STATUS= when it changed, and
// WATCHDOG=1 every half WATCHDOG_USEC, withheld while a worker's heartbeat is stale (the
// supervisor kills and replaces such a worker itself after worker_timeout_s; one that stays
// stale means it cannot heal the runner, and systemd should restart it).
import type { Logger } from 'pino'
import type { Notifier } from './sd-notify'
import { statusLine, type StatusFacts } from './status-line'

export class SystemdReport {
  private lastStatus = ''
  private nextWatchdogAt = 0
  private withheld = false

  constructor (private readonly notifier: Notifier, private readonly log: Logger) {}

  get enabled (): boolean { return this.notifier.enabled }

  /** when the loop must wake for the next WATCHDOG=1, if systemd expects them */
  get wakeAt (): number | undefined {
    return this.notifier.watchdogIntervalMs !== undefined ? this.nextWatchdogAt : undefined
  }

  status (facts: StatusFacts): void {
    const line = statusLine(facts)
    if (line === this.lastStatus) return
    this.lastStatus = line
    this.notifier.send({ STATUS: line })
  }

  /** stale: names of the workers whose heartbeat is older than worker_timeout_s */
  watchdog (now: number, stale: () => string[]): void {
    const interval = this.notifier.watchdogIntervalMs
    if (interval === undefined || now < this.nextWatchdogAt) return
    this.nextWatchdogAt = now + interval
    const late = stale()
    if (late.length === 0) {
      this.notifier.send({ WATCHDOG: '1' })
      if (this.withheld) this.log.info('heartbeats fresh again; WATCHDOG=1 resumed')
      this.withheld = false
    } else if (!this.withheld) {
      this.withheld = true
      this.log.error({ workers: late }, 'heartbeats stale: withholding WATCHDOG=1 (systemd restarts the service if this lasts)')
    }
  }
}
