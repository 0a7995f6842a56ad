// `robotrunner status`: the supervisor and its workers (from the pidfile and /proc) and what
// /ready says. Exit 0 running and ready, 1 running but degraded or unreachable, 3 not running.
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { Config } from '../config/settings'
import { EX_NOT_RUNNING, findSupervisor } from './supervisor-pid'

export async function statusCommand (args: string[]): Promise<number> {
  const found = findSupervisor(args, 'status')
  if ('exitCode' in found) return found.exitCode
  const { config, pid } = found
  if (pid === undefined) {
    process.stdout.write('robotrunner: not running\n')
    return EX_NOT_RUNNING
  }
  const lines = [`robotrunner: supervisor pid ${pid}`]
  for (const child of children(pid)) lines.push(`  ${child.title.replace(/^robotrunner: /, '').padEnd(24)} pid ${child.pid}`)
  let ok = false
  try {
    const ready = await getReady(config)
    ok = ready.status === 200
    const body = JSON.parse(ready.body) as { status: string, checks: Record<string, unknown> }
    lines.push(`/ready: ${ready.status} ${body.status} ${JSON.stringify(body.checks)}`)
  } catch (err) {
    lines.push(`/ready: not reachable: ${err instanceof Error ? err.message : String(err)}`)
  }
  process.stdout.write(lines.join('\n') + '\n')
  return ok ? 0 : 1
}

/** Worker processes of the supervisor, from /proc. */
function children (ppid: number): Array<{ pid: number, title: string }> {
  const out: Array<{ pid: number, title: string }> = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue
      const title = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
      if (title.startsWith('robotrunner:')) out.push({ pid: Number(entry), title })
    } catch { /* exited meanwhile */ }
  }
  return out.sort((a, b) => a.title.localeCompare(b.title))
}

function getReady (c: Config): Promise<{ status: number, body: string }> {
  const host = c.host === '0.0.0.0' || c.host === '::' ? '127.0.0.1' : c.host
  return new Promise((resolve, reject) => {
    const options = { host, port: c.port, path: '/ready', agent: false, timeout: 5000 }
    // Our own port on this machine: the served certificate need not chain to ca_cert (the
    // clients' CA). With client_auth "required" the runner's own certificate is presented.
    const tlsOptions = c.client_auth === 'required' ? { cert: fs.readFileSync(c.cert_file), key: fs.readFileSync(c.key_file) } : {}
    const req = c.ssl_enabled
      ? https.get({ ...options, rejectUnauthorized: false, ...tlsOptions }, onResponse)
      : http.get(options, onResponse)
    function onResponse (res: http.IncomingMessage): void {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    }
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')))
    req.on('error', reject)
  })
}
