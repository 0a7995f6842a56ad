// A runner for one measurement: its own Redis and supervisor (the test helpers), the
// benchmark's settings, optionally every process --cpu-prof'd, and the pid -> role map
// the profile summary needs.
import fs from 'node:fs'
import path from 'node:path'
import { startRedis, type TestRedis } from '../../test/helpers/redis'
import { cmdline, startRunner, type Runner } from '../../test/helpers/runner'
import { progress, type Ctx, type Scope } from './harness'

export interface Proc { pid: number, role: 'supervisor' | 'http' | 'queue', title: string }

export interface BenchRunner {
  runner: Runner
  redis: TestRedis
  /** the supervisor and its workers now */
  procs: () => Proc[]
  /** every pid seen with its title (profiles are named by pid) */
  seen: Map<number, string>
  /** graceful stop (profiles are written at exit); bounded */
  stop: () => Promise<void>
}

/** Settings every measurement uses: the production defaults but the rate limit, which one client would hit at once. */
export function benchConfig (ctx: Ctx): Record<string, unknown> {
  return { http_workers: ctx.httpWorkers, rate_limit: { max: 1_000_000_000, time_window_ms: 60_000 } }
}

const FLAGS_WRAPPER = path.join(__dirname, 'node-flags')

export async function startBenchRunner (scope: Scope, ctx: Ctx, config: Record<string, unknown> = {}): Promise<BenchRunner> {
  const redis = await startRedis(scope)
  const env: Record<string, string> = {}
  const realNode = process.execPath
  const flags = [...(ctx.profileDir !== undefined ? [`--cpu-prof --cpu-prof-dir=${ctx.profileDir}`] : []), ...(ctx.nodeFlags !== undefined ? [ctx.nodeFlags] : [])]
  if (flags.length > 0) {
    env.BENCH_NODE = realNode
    env.BENCH_NODE_FLAGS = flags.join(' ')
    // The helper starts `process.execPath` (without NODE_OPTIONS): point it at the wrapper
    // for this one start.
    process.execPath = FLAGS_WRAPPER
  }
  let runner: Runner
  try {
    runner = await startRunner(scope, { certs: ctx.certs, redisUrl: redis.url, config: { ...benchConfig(ctx), ...config, ...ctx.runnerConfig }, env })
  } finally {
    process.execPath = realNode
  }
  const seen = new Map<number, string>()
  const procs = (): Proc[] => {
    const out: Proc[] = [{ pid: runner.pid, role: 'supervisor', title: 'robotrunner: supervisor' }]
    for (const pid of runner.workerPids()) {
      const title = cmdline(pid)
      out.push({ pid, role: title.includes('http') ? 'http' : 'queue', title })
    }
    for (const p of out) seen.set(p.pid, p.title)
    return out
  }
  procs()
  return {
    runner,
    redis,
    procs,
    seen,
    stop: async () => {
      procs()
      const timer = setTimeout(() => { progress('runner did not stop within 60 s; killing it'); runner.proc.kill('SIGKILL') }, 60_000)
      await runner.stop('SIGTERM')
      clearTimeout(timer)
      if (ctx.profileDir !== undefined) {
        // Profiles are named by pid: keep which process each pid was.
        const file = path.join(ctx.profileDir, 'titles.json')
        let known: Record<string, string> = {}
        try { known = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string> } catch { /* first runner */ }
        fs.mkdirSync(ctx.profileDir, { recursive: true })
        fs.writeFileSync(file, JSON.stringify({ ...known, ...Object.fromEntries(seen) }))
      }
    }
  }
}
