// Looking at /proc for what a robot left behind.
import fs from 'node:fs'

/** pids whose process group is pgid (excluding zombies). */
export function groupMembers (pgid: number): number[] {
  const out: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) out.push(Number(entry))
    } catch { /* gone */ }
  }
  return out
}

/** live pids whose environment has RR_EXECUTION_ID=<id>. */
export function markedProcesses (executionId: string): number[] {
  return pidsWithEnv('RR_EXECUTION_ID', executionId)
}

/** live pids whose environment has NAME=value. */
export function pidsWithEnv (name: string, value: string): number[] {
  const needle = `${name}=${value}\0`
  const out: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (stat[stat.lastIndexOf(')') + 2] === 'Z') continue
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8')
      if (env.startsWith(needle) || env.includes('\0' + needle)) out.push(Number(entry))
    } catch { /* gone, or not ours */ }
  }
  return out
}
