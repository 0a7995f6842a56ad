// The directories the runner writes: logs, data (executions, embedded Redis), the pidfile's.
import path from 'node:path'
import type { Config } from '../config/settings'
import { dirWritable } from './fs-facts'
import { fail, ok, type CheckItem } from './item'

export function checkDirs (c: Config): CheckItem[] {
  const logDirs = [...new Set([c.log_file, c.access_log].filter((f) => f !== '-').map((f) => path.dirname(f)))]
  const items = [
    logDirs.length === 0
      ? ok('dirs.logs', 'the log directory is writable', 'log_file and access_log are standard output')
      : dirsItem('dirs.logs', 'the log directory is writable', logDirs),
    dirsItem('dirs.data', 'data_dir is writable', [c.data_dir])
  ]
  if (c.pidfile !== undefined) items.push(dirsItem('dirs.pidfile', 'the pidfile\'s directory is writable', [path.dirname(c.pidfile)]))
  return items
}

function dirsItem (id: string, title: string, dirs: string[]): CheckItem {
  const results = dirs.map(dirWritable)
  const bad = results.filter((r) => !r.ok)
  if (bad.length > 0) return fail(id, title, bad.map((r) => r.reason).join('; '), `create ${dirs.join(' and ')} owned by the service user, or point the setting elsewhere`)
  return ok(id, title, results.map((r) => r.reason).join('; '))
}
