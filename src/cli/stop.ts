// `robotrunner stop [--fast]`: TERM (graceful) or QUIT (fast) to the supervisor, then waits
// until it has exited.
import { EX_NOT_RUNNING, findSupervisor } from './supervisor-pid'

const MARGIN_S = 10

export async function stopCommand (args: string[]): Promise<number> {
  const fast = args.includes('--fast')
  const found = findSupervisor(args.filter((a) => a !== '--fast'), 'stop')
  if ('exitCode' in found) return found.exitCode
  const { config, pid } = found
  if (pid === undefined) {
    process.stdout.write('robotrunner stop: not running\n')
    return EX_NOT_RUNNING
  }
  process.kill(pid, fast ? 'SIGQUIT' : 'SIGTERM')
  const waitS = (fast ? 5 : config.graceful_timeout_s + config.cancel_grace_s) + MARGIN_S
  process.stdout.write(`robotrunner stop: ${fast ? 'fast' : 'graceful'} stop of supervisor ${pid} (waiting up to ${waitS} s)\n`)
  const deadline = Date.now() + waitS * 1000
  while (Date.now() < deadline) {
    if (!alive(pid)) {
      process.stdout.write('robotrunner stop: stopped\n')
      return 0
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  process.stderr.write(`robotrunner stop: supervisor ${pid} still running after ${waitS} s\n`)
  return 1
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
