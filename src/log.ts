// pino loggers writing to files (or stdout for "-"), with every secret value blanked
// from every line before it is written, and reopenable for logrotate (USR1/HUP).
import pino, { type Logger } from 'pino'
import { makeRedactor } from './config/redact'

export interface FileLogger {
  logger: Logger
  reopen: () => void
  flush: () => void
}

export function fileLogger (file: string, level: string, secrets: readonly string[], base: Record<string, unknown>, opts: { warningsToStderr?: boolean } = {}): FileLogger {
  const dest = file === '-' ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: file, sync: false, mkdir: true })
  // The supervisor also copies warnings and errors to stderr, which systemd puts in the journal.
  const stream = opts.warningsToStderr === true && file !== '-'
    ? pino.multistream([{ level: 'trace', stream: dest }, { level: 'warn', stream: process.stderr }])
    : dest
  const redact = makeRedactor(secrets)
  const logger = pino({
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Structured fields that may hold credentials are censored by path ...
    redact: { paths: ['token', 'license_key', 'redis_password', 'req.headers.authorization', '*.token', '*.license_key', '*.redis_password'], censor: '[REDACTED]' },
    // ... and any secret value that reached a message or an error text is blanked here.
    hooks: { streamWrite: redact }
  }, stream)
  return {
    logger,
    reopen: () => { if (file !== '-') dest.reopen() },
    flush: () => { try { dest.flushSync() } catch { /* not ready yet or closed */ } }
  }
}
