// The supervisor's pidfile: written atomically (temp file + rename), removed at exit,
// and never overwritten while it names a live robotrunner.
import fs from 'node:fs'
import path from 'node:path'

export class PidfileError extends Error {}

export function writePidfile (file: string): () => void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const other = readPid(file)
  if (other !== undefined && other !== process.pid && isRobotrunner(other)) {
    throw new PidfileError(`pidfile ${file} names a running robotrunner (pid ${other}); stop it first`)
  }
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 })
  fs.renameSync(tmp, file)
  return () => {
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true })
  }
}

export function readPid (file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** The pid of the live robotrunner the pidfile names, if any. */
export function runningPid (file: string): number | undefined {
  const pid = readPid(file)
  return pid !== undefined && isRobotrunner(pid) ? pid : undefined
}

function isRobotrunner (pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('robotrunner')
  } catch {
    return false
  }
}
