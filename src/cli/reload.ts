// `robotrunner reload`: checks the configuration first (a bad one is reported here and no
// HUP is sent), then sends HUP to the supervisor for a rolling reload.
import { EX_NOT_RUNNING, findSupervisor } from './supervisor-pid'

export async function reloadCommand (args: string[]): Promise<number> {
  const found = findSupervisor(args, 'reload')
  if ('exitCode' in found) return found.exitCode
  if (found.pid === undefined) {
    process.stderr.write(`robotrunner reload: not running (pidfile ${found.config.pidfile ?? ''})\n`)
    return EX_NOT_RUNNING
  }
  process.kill(found.pid, 'SIGHUP')
  process.stdout.write(`robotrunner reload: configuration valid; HUP sent to supervisor ${found.pid} (new workers replace the old ones once they answer; see the log or \`robotrunner status\`)\n`)
  return 0
}
