// Starts a real supervisor (the built dist/) with a config of its own in a temp dir.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { makeClient, type RequestOptions, type Response } from './client'
import type { Certs } from './certs'
import { freePort } from './free-port'
import { tmpDir, waitFor } from './tmp'

export const ROOT = path.resolve(__dirname, '..', '..')
export const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js')

export interface Runner {
  proc: ChildProcess
  pid: number
  dir: string
  port: number
  config: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  configPath: string
  token: string
  stdout: () => string
  stderr: () => string
  /** an authenticated request (client cert + token) unless overridden */
  request: (opts: RequestOptions) => Promise<Response>
  /** a request with exactly the credentials given */
  raw: (opts: RequestOptions) => Promise<Response>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** pids of this supervisor's worker processes, from /proc */
  workerPids: () => number[]
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

interface T { teardown: (fn: () => unknown) => void }

export interface RunnerOptions {
  certs: Certs
  redisUrl?: string
  config?: Record<string, unknown>
  env?: Record<string, string>
  args?: string[]
  /** wait for the ready line (default true) */
  waitReady?: boolean
}

export async function startRunner (t: T, opts: RunnerOptions): Promise<Runner> {
  const dir = tmpDir(t, 'rr-runner')
  const port = await freePort()
  const token = randomBytes(32).toString('hex')
  const config: Record<string, unknown> = {
    machine_id: `test-${randomBytes(4).toString('hex')}`,
    license_key: `lic-${randomBytes(12).toString('hex')}`,
    token,
    host: '127.0.0.1',
    port,
    cert_file: opts.certs.cert,
    key_file: opts.certs.key,
    ca_cert: opts.certs.ca,
    data_dir: path.join(dir, 'data'),
    robots_dir: path.join(dir, 'robots'),
    log_file: path.join(dir, 'logs', 'server.log'),
    access_log: path.join(dir, 'logs', 'access.log'),
    http_workers: 2,
    queue_workers: 1,
    ...(opts.redisUrl !== undefined ? { redis_url: opts.redisUrl } : {}),
    ...opts.config
  }
  const configPath = path.join(dir, 'config.json')
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2))
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env }
  for (const k of Object.keys(env)) if (k.startsWith('RR_') && opts.env?.[k] === undefined) delete env[k]
  cleanTapEnv(env)

  const proc = spawn(...nodeCommand([MAIN, 'start', '--config', configPath, ...(opts.args ?? [])]), {
    cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true
  })
  let out = ''
  let err = ''
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }))
  })
  let done = false
  void exited.then(() => { done = true })
  t.teardown(async () => {
    // Whatever the test did, leave no process of this runner behind.
    const pids = done ? [] : [proc.pid!, ...descendants(proc.pid!)]
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    if (!done) await exited
  })

  const client = makeClient(Number(config.port), opts.certs)
  const runner: Runner = {
    proc,
    pid: proc.pid!,
    dir,
    port: Number(config.port),
    config,
    configPath,
    token,
    stdout: () => out,
    stderr: () => err,
    request: (o) => client({ token, ...o }),
    raw: client,
    exited,
    workerPids: () => descendants(proc.pid!).filter((pid) => cmdline(pid).startsWith('robotrunner:')),
    stop: async (signal = 'SIGTERM') => {
      if (!done) proc.kill(signal)
      return await exited
    }
  }
  if (opts.waitReady !== false) {
    await Promise.race([
      waitFor('runner ready line', () => out.includes('robotrunner: ready'), 30_000).catch((e: Error) => { throw new Error(`${e.message}\nstdout: ${out}\nstderr: ${err}`) }),
      exited.then(({ code }) => { throw new Error(`runner exited with ${String(code)} before ready:\n${err}`) })
    ])
  }
  return runner
}

/** Every descendant pid of pid, read from /proc (children first-level and below). */
export function descendants (pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(entry))
      children.set(ppid, list)
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = []
  const walk = (p: number): void => { for (const c of children.get(p) ?? []) { out.push(c); walk(c) } }
  walk(pid)
  return out
}

export function cmdline (pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
  } catch {
    return ''
  }
}

export function alive (pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** The runner under test must not load tap's loaders (NODE_OPTIONS) in its workers. */
export function cleanTapEnv (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const k of Object.keys(env)) if (k === 'NODE_OPTIONS' || k.startsWith('TAP') || k.startsWith('_TAPJS') || k.startsWith('TS_NODE')) delete env[k]
  return env
}

/**
 * tap wraps child_process to load its process-info hooks into every node child
 * (re-adding NODE_OPTIONS); the runner under test must run as in production, so it is
 * started through env(1), which drops those variables before node starts.
 */
export function nodeCommand (args: string[]): [string, string[]] {
  return ['/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]]
}
