// What the log says about delivery as a whole: one warning when delivery starts failing
// (then at most one a minute, with the count, or one per 5 s when the error changes, as
// from "connection refused" to a certificate problem), one line when it works again. Failures of
// single notifications go to debug: an orchestrator down for hours must not flood the log.
import type { Logger } from 'pino'

const WARN_EVERY_MS = 60_000
const WARN_CHANGED_MS = 5000

export class DeliveryHealth {
  private failingSince: number | undefined
  private failures = 0
  private unreported = 0
  private lastWarnAt = 0
  private lastWarned = ''

  constructor (private readonly logger: Logger) {}

  get failing (): boolean { return this.failingSince !== undefined }

  failed (notification: string, error: string, retryInMs: number): void {
    const now = Date.now()
    this.failingSince ??= now
    this.failures++
    this.unreported++
    this.logger.debug({ notification, error, retry_in_ms: retryInMs }, 'notification not delivered; will retry')
    const quiet = error === this.lastWarned ? WARN_EVERY_MS : WARN_CHANGED_MS
    if (now - this.lastWarnAt < quiet) return
    this.lastWarnAt = now
    this.lastWarned = error
    this.logger.warn({ error, failed_attempts: this.unreported, failing_for_s: Math.round((now - this.failingSince) / 1000) }, 'notification delivery to notify_url failing; retrying with backoff')
    this.unreported = 0
  }

  /** Returns true when this ends a failing period. */
  delivered (): boolean {
    if (this.failingSince === undefined) return false
    this.logger.info({ failed_attempts: this.failures, failing_for_s: Math.round((Date.now() - this.failingSince) / 1000) }, 'notification delivery to notify_url works again')
    this.failingSince = undefined
    this.failures = 0
    this.unreported = 0
    this.lastWarnAt = 0
    this.lastWarned = ''
    return true
  }
}
