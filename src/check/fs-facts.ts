// Small filesystem and user facts the checks share.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** The path itself when it exists, else its nearest existing ancestor. */
export function nearestExisting (p: string): string {
  let current = path.resolve(p)
  while (!fs.existsSync(current)) {
    const parent = path.dirname(current)
    if (parent === current) break
    current = parent
  }
  return current
}

export type Writable = { ok: true, reason: string } | { ok: false, reason: string }

/**
 * Whether this user can write dir, or create it: a missing dir is fine when its nearest
 * existing ancestor is a writable directory (the runner creates what is missing).
 */
export function dirWritable (dir: string): Writable {
  const target = path.resolve(dir)
  const existing = nearestExisting(target)
  // What is wrong is said of the dir itself, or of the ancestor it would be created in.
  const subject = existing === target ? target : `${target} cannot be created: ${existing}`
  let stat: fs.Stats
  try {
    stat = fs.statSync(existing)
  } catch (err) {
    return { ok: false, reason: `${subject}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }
  }
  if (!stat.isDirectory()) return { ok: false, reason: `${subject} is not a directory` }
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK)
  } catch (err) {
    return { ok: false, reason: `${subject} is not writable by ${currentUser()} (${(err as NodeJS.ErrnoException).code ?? String(err)})` }
  }
  return existing === target
    ? { ok: true, reason: `${target} is writable by ${currentUser()}` }
    : { ok: true, reason: `${target} does not exist yet; ${existing}, where it will be created, is writable by ${currentUser()}` }
}

export function currentUser (): string {
  try {
    return os.userInfo().username
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`
  }
}

/** The name of uid from /etc/passwd, else "uid N". */
export function userName (uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':')
      if (Number(id) === uid && name !== undefined) return name
    }
  } catch { /* no passwd file: fall through */ }
  return `uid ${uid}`
}

const GiB = 1024 ** 3
export const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`
