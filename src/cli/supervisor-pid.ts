// How `robotrunner reload|stop|status` find the running supervisor: the configuration (as
// `start` loads it) names the pidfile, which names a live robotrunner.
import { EX_CONFIG } from '../config/load'
import type { Config } from '../config/settings'
import { runningPid } from '../../cluster/pidfile'
import { loadOrReport } from './start'

/** LSB: "program is not running" */
export const EX_NOT_RUNNING = 3

export type Found = { config: Config, pid: number | undefined } | { exitCode: number }

export function findSupervisor (args: string[], command: string): Found {
  const loaded = loadOrReport(args)
  if (loaded === undefined) return { exitCode: EX_CONFIG }
  const { config } = loaded
  if (config.pidfile === undefined) {
    process.stderr.write(`robotrunner ${command}: no pidfile configured; set "pidfile" (under systemd: systemctl ${command === 'status' ? 'status' : command} robotrunner)\n`)
    return { exitCode: 64 }
  }
  return { config, pid: runningPid(config.pidfile) }
}
