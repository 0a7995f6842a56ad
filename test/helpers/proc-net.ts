// Which TCP connections a process holds, from /proc: the client ports of the connections
// a worker serves on a given server port (to know which clients a kill affects).
import fs from 'node:fs'

function socketInodes (pid: number): Set<string> {
  const inodes = new Set<string>()
  let fds: string[] = []
  try { fds = fs.readdirSync(`/proc/${pid}/fd`) } catch { return inodes }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m !== null) inodes.add(m[1])
    } catch { /* closed meanwhile */ }
  }
  return inodes
}

/** Remote (client) ports of the established connections pid holds on local port serverPort. */
export function clientPortsOf (pid: number, serverPort: number): number[] {
  const inodes = socketInodes(pid)
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try { text = fs.readFileSync(table, 'utf8') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10 || !inodes.has(f[9])) continue
      const local = Number.parseInt(f[1].split(':')[1], 16)
      const remote = Number.parseInt(f[2].split(':')[1], 16)
      if (local === serverPort && f[3] === '01') ports.push(remote) // 01 = ESTABLISHED
    }
  }
  return ports
}
