// What every measurement shares: a teardown scope (the test helpers take `{ teardown }`),
// child processes of the plain tools, RSS from /proc, quantiles, timing helpers.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import type { Certs } from '../../test/helpers/certs'
import { plainTool } from './plain'

/** Teardown functions run in reverse order at close(), each at most once, errors logged. */
export class Scope {
  /** scopes not closed yet: an interrupted run closes them all */
  static readonly open = new Set<Scope>()
  private fns: Array<() => unknown> = []
  constructor () { Scope.open.add(this) }
  teardown (fn: () => unknown): void { this.fns.push(fn) }
  async close (): Promise<void> {
    Scope.open.delete(this)
    for (let fn = this.fns.pop(); fn !== undefined; fn = this.fns.pop()) {
      try { await fn() } catch (err) { progress(`teardown: ${(err as Error).message}`) }
    }
  }
}

export interface Ctx {
  quick: boolean
  /** dual-use server certificate (the runner's cert is also its notification client cert) */
  certs: Certs
  /** where the plain tools are transpiled to, and profiles go */
  workDir: string
  httpWorkers: number
  /** --cpu-prof the runner's processes into this dir */
  profileDir?: string
  /** extra node flags for the runner's processes (experiments, e.g. --max-semi-space-size=4) */
  nodeFlags?: string
  /** runner settings over the benchmark's (experiments, e.g. {"queue_workers":2}) */
  runnerConfig?: Record<string, unknown>
}

export function progress (msg: string): void {
  process.stderr.write(`bench: ${msg}\n`)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Value at fraction q (0..1) of the numbers (nearest rank). */
export function quantile (values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}

export const round = (n: number, digits = 2): number => Number.isFinite(n) ? Number(n.toFixed(digits)) : n

/** Polls fn (bounded) until truthy; returns its value or throws naming what. */
export async function until<T> (what: string, fn: () => T | Promise<T>, timeoutMs: number, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const v = await fn()
    if (v) return v as NonNullable<T>
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

function spawnTool (scope: Scope, ctx: Ctx, name: string, options: unknown): { child: ChildProcess, out: () => string, err: () => string, exited: Promise<number | null> } {
  const js = plainTool(name, ctx.workDir)
  const child = spawn(process.execPath, [js, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr!.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  scope.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return { child, out: () => out, err: () => err, exited }
}

/** Runs a plain tool to completion; resolves with its JSON line. */
export async function runTool<T> (scope: Scope, ctx: Ctx, name: string, options: unknown): Promise<T> {
  const t = spawnTool(scope, ctx, name, options)
  t.child.stdin!.end()
  const code = await t.exited
  if (code !== 0) throw new Error(`${name} exited ${String(code)}: ${t.err().slice(-2000)}`)
  const line = t.out().trim().split('\n').at(-1) ?? ''
  return JSON.parse(line) as T
}

/** Starts a plain tool that serves until stopped; resolves once it printed its ready line. */
export async function startTool (scope: Scope, ctx: Ctx, name: string, options: unknown): Promise<{ pid: number, stop: () => Promise<void> }> {
  const t = spawnTool(scope, ctx, name, options)
  await Promise.race([
    until(`${name} ready`, () => t.out().includes('"ready":true'), 15_000, 20),
    t.exited.then((code) => { throw new Error(`${name} exited ${String(code)} before ready: ${t.err()}`) })
  ])
  return {
    pid: t.child.pid!,
    stop: async () => {
      t.child.kill('SIGTERM')
      await Promise.race([t.exited, sleep(5000)])
    }
  }
}

/** Resident set size of pid in bytes (VmRSS), 0 when it is gone. */
export function rssBytes (pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

export const MB = 1024 * 1024

/** RSS, PSS (shared pages split among their sharers) and anonymous (private heap) bytes of pid. */
export function memOf (pid: number): { rss: number, pss: number, anon: number } {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024
    return { rss: kb('Rss'), pss: kb('Pss'), anon: kb('Anonymous') }
  } catch {
    return { rss: 0, pss: 0, anon: 0 }
  }
}

const TICK_MS = 10 // USER_HZ is 100 on Linux

/** CPU time (user + system) pid has used so far, in ms; 0 when it is gone. */
export function cpuMs (pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * TICK_MS
  } catch {
    return 0
  }
}

/** pids whose command line contains text (e.g. a redis-server's "127.0.0.1:<port>"). */
export function pidsMatching (text: string): number[] {
  const out: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(text)) out.push(Number(entry))
    } catch { /* gone */ }
  }
  return out
}

/** CPU ms each named process used between start() and the returned stop(). */
export function cpuMeter (procs: Record<string, number[]>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(procs).map(([k, pids]) => [k, pids.map(cpuMs)]))
  return () => Object.fromEntries(Object.entries(procs).map(([k, pids]) => [k, pids.reduce((n, pid, i) => n + cpuMs(pid) - before[k][i], 0)]))
}
