// sd_notify(3) for the supervisor: READY, RELOADING, STOPPING, WATCHDOG and STATUS
// datagrams to systemd's NOTIFY_SOCKET. Node has no unix datagram sockets, so this uses
// the native unix-dgram package, loaded only when NOTIFY_SOCKET is set: without it the
// program runs unchanged. Only the supervisor speaks (NotifyAccess=main); workers'
// environments carry no NOTIFY_SOCKET.
import type { Logger } from 'pino'

export class NotifyError extends Error {}

export interface Notifier {
  /** NOTIFY_SOCKET is set */
  readonly enabled: boolean
  /** how often to send WATCHDOG=1 (half of WATCHDOG_USEC), undefined when systemd expects none */
  readonly watchdogIntervalMs: number | undefined
  /** sends "KEY=value" lines in one datagram (systemd reads RELOADING=1 with its MONOTONIC_USEC together) */
  send: (fields: Record<string, string>) => void
  close: () => void
}

interface DgramSocket {
  send: (buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void) => void
  on: (event: 'error', fn: (err: Error) => void) => void
  close: () => void
}
interface UnixDgram { createSocket: (type: 'unix_dgram') => DgramSocket }

/** CLOCK_MONOTONIC in microseconds (libuv's hrtime reads CLOCK_MONOTONIC on Linux), as RELOADING=1 wants. */
export function monotonicUsec (): string {
  return (process.hrtime.bigint() / 1000n).toString()
}

export function createNotifier (env: NodeJS.ProcessEnv, log: Logger): Notifier {
  const socketPath = env.NOTIFY_SOCKET
  const watchdogIntervalMs = watchdogInterval(env)
  if (socketPath === undefined || socketPath === '') {
    return { enabled: false, watchdogIntervalMs: undefined, send: () => {}, close: () => {} }
  }
  const why = watchdogIntervalMs !== undefined ? ' (WatchdogSec is set: without WATCHDOG=1 systemd would kill the service)' : ' (Type=notify: systemd waits for READY=1)'
  if (socketPath.startsWith('@')) {
    // unix-dgram copies the address as a C string with the full sockaddr length, so an
    // abstract name (leading NUL, exact length) cannot be reached through it.
    throw new NotifyError(`NOTIFY_SOCKET=${socketPath} is an abstract socket, which the unix-dgram binding cannot address; run under a systemd that gives a path socket (e.g. /run/systemd/notify)${why}`)
  }
  if (!socketPath.startsWith('/')) throw new NotifyError(`NOTIFY_SOCKET=${socketPath} is neither an absolute path nor an abstract @name`)
  let socket: DgramSocket
  try {
    const dgram = require('unix-dgram') as UnixDgram // eslint-disable-line @typescript-eslint/no-require-imports
    socket = dgram.createSocket('unix_dgram')
  } catch (err) {
    throw new NotifyError(`NOTIFY_SOCKET is set but the unix-dgram native binding does not load: ${(err as Error).message}; rebuild it (npm rebuild unix-dgram)${why}`)
  }
  let warned = false
  socket.on('error', (err) => warn(err))
  function warn (err: Error): void {
    if (warned) return
    warned = true // once: systemd being away must not flood the log
    log.warn({ err, notify_socket: socketPath }, 'sd_notify failed')
  }
  return {
    enabled: true,
    watchdogIntervalMs,
    send: (fields) => {
      const buf = Buffer.from(Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`).join('\n'))
      socket.send(buf, 0, buf.length, socketPath, (err) => { if (err !== undefined && err !== null) warn(err) })
    },
    close: () => { try { socket.close() } catch { /* already closed */ } }
  }
}

/** sd_watchdog_enabled(3): WATCHDOG_USEC, for us unless WATCHDOG_PID names another process. */
function watchdogInterval (env: NodeJS.ProcessEnv): number | undefined {
  const usec = Number(env.WATCHDOG_USEC)
  if (!Number.isFinite(usec) || usec <= 0) return undefined
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== process.pid) return undefined
  return Math.max(1, Math.floor(usec / 2000))
}
