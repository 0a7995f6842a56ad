// The listen port: free, or held by this runner (the process in the pidfile, or a
// robotrunner when there is no pidfile). Held by anything else, the runner cannot start.
import fs from 'node:fs'
import net from 'node:net'
import type { Config } from '../config/settings'
import { readPid } from '../../cluster/pidfile'
import { fail, ok, unknown, type CheckItem } from './item'

const TITLE = 'the port is free or held by this runner'

export async function checkPort (c: Pick<Config, 'host' | 'port' | 'pidfile'>): Promise<CheckItem> {
  const where = `${c.host}:${c.port}`
  if (c.port === 0) return ok('port', TITLE, 'port 0: the system picks a free port')
  const code = await tryListen(c.host, c.port)
  if (code === undefined) return ok('port', TITLE, `${where} is free`)
  if (code === 'EACCES') return unknown('port', TITLE, `this user may not bind ${where} (a port under 1024 needs root or CAP_NET_BIND_SERVICE)`, 'run check as the service user, or as root')
  if (code === 'EADDRNOTAVAIL') return fail('port', TITLE, `${c.host} is not an address of this machine`, 'set host to one of this machine\'s addresses, or 0.0.0.0')
  if (code !== 'EADDRINUSE') return unknown('port', TITLE, `cannot bind ${where}: ${code}`)
  return heldItem(where, c.port, c.pidfile)
}

function heldItem (where: string, port: number, pidfile: string | undefined): CheckItem {
  const holders = listeners(port)
  const fix = 'stop the process that holds it, or choose another port'
  if (holders.length === 0) {
    return runningRobotrunner()
      ? unknown('port', TITLE, `${where} is in use and a robotrunner runs, but this user cannot see which process holds the port`, 'run check as root to tell')
      : fail('port', TITLE, `${where} is in use by a process this user cannot see`, fix)
  }
  const runner = holders.find((pid) => isRobotrunner(pid))
  if (runner !== undefined) {
    if (pidfile === undefined) return ok('port', TITLE, `${where} is held by a running robotrunner (pid ${runner}: ${cmdline(runner)})`)
    const ours = readPid(pidfile)
    if (ours !== undefined && ancestors(runner).includes(ours)) return ok('port', TITLE, `${where} is held by this runner (pid ${ours} in ${pidfile})`)
    return fail('port', TITLE, `${where} is held by a robotrunner (pid ${runner}) that is not the one in ${pidfile} (${ours ?? 'no pid'})`, fix)
  }
  return fail('port', TITLE, `${where} is held by pid ${holders[0]} (${cmdline(holders[0]) || 'unknown command'})`, fix)
}

async function tryListen (host: string, port: number): Promise<string | undefined> {
  return await new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })
}

/** pids with a listening TCP socket on port, from /proc/net/tcp{,6} and /proc/<pid>/fd. */
function listeners (port: number): number[] {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try { text = fs.readFileSync(table, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // cols[1] is local address:port in hex, cols[3] the state (0A = LISTEN), cols[9] the inode.
      if (cols.length > 9 && cols[3] === '0A' && Number.parseInt(cols[1].split(':')[1], 16) === port) inodes.add(`socket:[${cols[9]}]`)
    }
  }
  const pids: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let fds: string[]
    try { fds = fs.readdirSync(`/proc/${entry}/fd`) } catch { continue }
    for (const fd of fds) {
      let target = ''
      try { target = fs.readlinkSync(`/proc/${entry}/fd/${fd}`) } catch { continue }
      if (inodes.has(target)) { pids.push(Number(entry)); break }
    }
  }
  return pids.sort((a, b) => a - b)
}

/** pid and its ancestors up to init. */
function ancestors (pid: number): number[] {
  const out: number[] = []
  for (let p = pid; p > 1 && out.length < 64;) {
    out.push(p)
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8')
      p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    } catch {
      break
    }
  }
  return out
}

function cmdline (pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim().slice(0, 80)
  } catch {
    return ''
  }
}

const isRobotrunner = (pid: number): boolean => cmdline(pid).startsWith('robotrunner')

function runningRobotrunner (): boolean {
  return fs.readdirSync('/proc').some((e) => /^\d+$/.test(e) && cmdline(Number(e)).startsWith('robotrunner: supervisor'))
}
