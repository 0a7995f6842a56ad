// Finding and killing every process of one execution: its process group, and the
// processes that left the group (setsid, double fork) but still carry the
// RR_EXECUTION_ID=<id> environment marker every robot is started with.
import fs from 'node:fs'

export const EXECUTION_MARKER = 'RR_EXECUTION_ID'

/** pids whose environment carries RR_EXECUTION_ID=<id> (read from /proc; ours only, as root all). */
export function pidsWithMarker (executionId: string): number[] {
  const needle = Buffer.from(`\0${EXECUTION_MARKER}=${executionId}\0`)
  const first = Buffer.from(`${EXECUTION_MARKER}=${executionId}\0`)
  const out: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    let env: Buffer
    try {
      env = fs.readFileSync(`/proc/${entry}/environ`)
    } catch {
      continue // gone, or not ours to read
    }
    if (env.includes(needle) || env.subarray(0, first.length).equals(first)) out.push(Number(entry))
  }
  return out
}

/** Signals the group and every marked straggler; returns how many processes were signalled. */
export function signalExecution (executionId: string, pgid: number | undefined, signal: NodeJS.Signals): number {
  let count = 0
  if (pgid !== undefined && pgid > 1) {
    try { process.kill(-pgid, signal); count++ } catch { /* group already gone */ }
  }
  for (const pid of pidsWithMarker(executionId)) {
    try { process.kill(pid, signal); count++ } catch { /* exited meanwhile */ }
  }
  return count
}

/** True while any process of the execution (group or marked) is alive. */
export function executionAlive (executionId: string, pgid: number | undefined): boolean {
  if (pgid !== undefined && pgid > 1) {
    try { process.kill(-pgid, 0); return true } catch { /* no group */ }
  }
  return pidsWithMarker(executionId).some((pid) => !isZombie(pid))
}

function isZombie (pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] === 'Z'
  } catch {
    return true
  }
}
