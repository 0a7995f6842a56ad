// 3. Burst: N executions of /bin/true posted C at a time; executions per second from the
// first POST to the last finished_at; every record, log and notification checked: none
// lost, none run twice. The limit: a bare Node loop spawning N /bin/true, C at a time.
// 5. Memory: RSS of the supervisor and every worker at idle and after each of three bursts.
import fs from 'node:fs'
import path from 'node:path'
import { makeKeys } from '../../src/state/keys'
import { accepted, makeOrchestrator, type Orchestrator } from '../../test/helpers/orchestrator'
import { freePort } from '../../test/helpers/free-port'
import { addRobot } from '../../test/helpers/robots'
import { descendants } from '../../test/helpers/runner'
import { startBenchRunner, type BenchRunner } from './bench-runner'
import { TRUE_ROBOT } from './dispatch'
import { cpuMeter, MB, memOf, pidsMatching, progress, round, runTool, Scope, sleep, startTool, until, type Ctx } from './harness'
import { underLoad } from './profile'
import type { Measurement } from './report'

const CONCURRENCY = 32

export interface BurstResult {
  executions: number
  per_second: number
  /** N / (POSTs start -> /api/status shows nothing queued or running) */
  per_second_polled: number | null
  seconds: number
  post_statuses: Record<string, number>
  /** CPU (user + system, from /proc) the runner's processes and Redis used per execution, µs */
  cpu_us_per_execution: Record<string, number>
  lost: number
  duplicated: number
  notifications: { complete: number, missing: number, duplicated: number, redelivered: number, last_after_finish_ms: number | null } | null
}

async function setup (scope: Scope, ctx: Ctx): Promise<{ br: BenchRunner, orch: Orchestrator }> {
  const orch = await makeOrchestrator(scope, { serverCerts: ctx.certs, clientCa: ctx.certs.ca })
  const br = await startBenchRunner(scope, ctx, { notify_url: orch.url })
  orch.token = br.runner.token
  await orch.listen()
  addRobot(br.runner, 'true', TRUE_ROBOT)
  return { br, orch }
}

export async function runBurst (scope: Scope, ctx: Ctx, br: BenchRunner, orch: Orchestrator | undefined, prefix: string, count: number): Promise<BurstResult> {
  const { runner, redis } = br
  const timeoutMs = ctx.quick ? 60_000 : 300_000
  progress(`burst ${prefix}: ${count} executions, ${CONCURRENCY} POSTs in flight`)
  const procs = br.procs()
  const stopCpu = cpuMeter({
    http: procs.filter((p) => p.role === 'http').map((p) => p.pid),
    queue: procs.filter((p) => p.role === 'queue').map((p) => p.pid),
    supervisor: [runner.pid],
    redis: pidsMatching(`redis-server 127.0.0.1:${redis.port}`)
  })
  const res = await underLoad(() => runTool<{ firstPostAt: number, drainedAt?: number, statuses: Record<string, number>, errors: string[] }>(scope, ctx, 'driver', {
    mode: 'burst', port: runner.port, ca: ctx.certs.ca, cert: ctx.certs.clientCert, key: ctx.certs.clientKey, token: runner.token,
    robot: 'true', count, concurrency: CONCURRENCY, idPrefix: prefix, timeoutMs
  }))
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
  const cpu = stopCpu()
  const cpuPerExecution: Record<string, number> = {}
  for (const [k, ms] of Object.entries(cpu)) cpuPerExecution[k] = round(ms * 1000 / count, 0)
  cpuPerExecution.total = Object.values(cpuPerExecution).reduce((a, b) => a + b, 0)

  // Records: each exactly once, succeeded, on its first attempt, three status changes.
  const keys = makeKeys(String(runner.config.machine_id))
  const client = redis.client()
  const pipeline = client.pipeline()
  for (const id of ids) pipeline.hgetall(keys.exec(id))
  const records = ((await pipeline.exec()) ?? []).map(([, h]) => h as Record<string, string>)
  let lost = 0
  let duplicated = 0
  let lastFinished = 0
  records.forEach((h, i) => {
    if (h.status !== 'succeeded') { lost++; return }
    lastFinished = Math.max(lastFinished, Date.parse(h.finished_at))
    let log: string
    try {
      log = fs.readFileSync(path.join(String(runner.config.data_dir), 'executions', ids[i], 'output.log'), 'utf8')
    } catch {
      lost++ // succeeded without its log
      return
    }
    const starts = log.split('\n').filter((l) => l.includes(' [runner] attempt ')).length
    if (h.attempt !== '1' || h.notify_seq !== '3' || starts !== 1) duplicated++
  })
  const indexed = (await client.zrange(keys.index, 0, -1)).filter((id) => id.startsWith(`${prefix}-`)).length
  if (indexed > count) duplicated += indexed - count
  const seconds = (lastFinished - res.firstPostAt) / 1000

  let notifications: BurstResult['notifications'] = null
  if (orch !== undefined) {
    await until('every succeeded notification', () => { const got = accepted(orch); return ids.every((id) => got.get(id)?.some((n) => n.status === 'succeeded')) }, ctx.quick ? 30_000 : 120_000, 200)
      .catch((err: Error) => progress(`burst ${prefix}: ${err.message}`))
    const got = accepted(orch)
    let complete = 0
    let missing = 0
    let dup = 0
    let lastAt = 0
    for (const id of ids) {
      const list = got.get(id) ?? []
      const statuses = list.map((n) => n.status as string)
      for (const n of list) lastAt = Math.max(lastAt, n.at as number)
      if (statuses.join(',') === 'queued,running,succeeded') complete++
      else if (['queued', 'running', 'succeeded'].some((s) => !statuses.includes(s))) missing++
      else dup++
    }
    const seen = new Set<string>()
    let redelivered = 0
    for (const a of orch.arrivals) {
      if (a.body?.execution?.id === undefined || !String(a.body.execution.id).startsWith(`${prefix}-`)) continue
      if (seen.has(a.body.id)) redelivered++
      seen.add(a.body.id)
    }
    notifications = { complete, missing, duplicated: dup, redelivered, last_after_finish_ms: lastAt > 0 ? lastAt - lastFinished : null }
  }
  return {
    executions: count,
    per_second: round(count / seconds, 1),
    per_second_polled: res.drainedAt !== undefined ? round(count / ((res.drainedAt - res.firstPostAt) / 1000), 1) : null,
    seconds: round(seconds, 2),
    post_statuses: res.statuses,
    cpu_us_per_execution: cpuPerExecution,
    lost,
    duplicated,
    notifications
  }
}

function burstText (r: BurstResult): string {
  const n = r.notifications
  return `${r.per_second} executions/s (${r.executions} in ${r.seconds} s); lost ${r.lost}, duplicated ${r.duplicated}` +
    (n !== null ? `; notifications: ${n.complete}/${r.executions} complete, ${n.missing} missing, ${n.duplicated} duplicated` : '')
}

export async function burst (ctx: Ctx): Promise<Measurement> {
  const count = ctx.quick ? 100 : 1000
  const scope = new Scope()
  try {
    const { br, orch } = await setup(scope, ctx)
    const cap = Number(br.runner.config.max_concurrent_executions ?? Number(br.runner.config.queue_workers ?? 1) * Number(br.runner.config.concurrency ?? 4))
    const r = await runBurst(scope, ctx, br, orch, 'b', count)
    await br.stop()
    progress(`burst: reference spawn loops (${CONCURRENCY} and ${cap} at a time)`)
    const ref = await runTool<{ runs: number, seconds: number, perSecond: number, cpuUsPerRun: number }>(scope, ctx, 'spawn-ref', { mode: 'burst', count, concurrency: CONCURRENCY })
    const refCap = await runTool<{ runs: number, seconds: number, perSecond: number }>(scope, ctx, 'spawn-ref', { mode: 'burst', count, concurrency: cap })
    const ratio = round(r.per_second / ref.perSecond, 3)
    const clean = r.lost === 0 && r.duplicated === 0 && r.notifications !== null && r.notifications.missing === 0 && r.notifications.duplicated === 0
    return {
      n: 3,
      name: 'burst',
      title: `Burst (${count} × /bin/true, ${CONCURRENCY} POSTs in flight, ${cap} robots at once)`,
      runnerText: burstText(r),
      referenceText: `bare spawn loop: ${round(ref.perSecond, 0)} runs/s at ${CONCURRENCY} at a time (${round(refCap.perSecond, 0)} runs/s at ${cap})`,
      ratio,
      targets: [
        { what: 'ratio', target: '>= 0.5', value: ratio, met: ratio >= 0.5 },
        { what: 'lost + duplicated (records, notifications)', target: '= 0', value: clean ? 0 : r.lost + r.duplicated + (r.notifications?.missing ?? 0) + (r.notifications?.duplicated ?? 0), met: clean }
      ],
      runner: { ...r, robots_at_once: cap },
      reference: { per_second: round(ref.perSecond, 1), seconds: round(ref.seconds, 2), cpu_us_per_run: round(ref.cpuUsPerRun, 0), concurrency: CONCURRENCY, per_second_at_runner_cap: round(refCap.perSecond, 1), runner_cap: cap },
      notes: [
        `CPU per execution (µs, user+system from /proc, until the last execution finished; robots not included): runner ${JSON.stringify(r.cpu_us_per_execution)}; the reference loop ${round(ref.cpuUsPerRun, 0)} µs per run`,
        `the runner runs at most max_concurrent_executions = ${cap} robots at once (defaults: 1 queue worker × concurrency 4); the reference spawns ${CONCURRENCY} at once as the issue says, and at ${cap} for comparison`,
        'notifications go to a fake orchestrator (mTLS, HMAC checked) in the benchmark process; "redelivered" counts at-least-once repeats, which an orchestrator de-duplicates by id'
      ]
    }
  } finally {
    await scope.close()
  }
}

export async function memory (ctx: Ctx): Promise<Measurement> {
  const count = ctx.quick ? 100 : 1000
  const scope = new Scope()
  try {
    const { br, orch } = await setup(scope, ctx)
    await sleep(ctx.quick ? 1000 : 3000)
    const sample = async (): Promise<{ total: number, workersAvg: number, workersPssAvg: number, workersAnonAvg: number, byProcess: Record<string, number> }> => {
      await sleep(ctx.quick ? 500 : 2000) // let the last requests and GC settle
      const procs = br.procs().map((p) => ({ ...p, ...memOf(p.pid) }))
      const workers = procs.filter((p) => p.role !== 'supervisor')
      const avg = (f: (p: typeof procs[number]) => number): number => workers.reduce((n, p) => n + f(p), 0) / workers.length / MB
      const byProcess: Record<string, number> = {}
      for (const p of procs) byProcess[`${p.role}:${p.pid}`] = round(p.rss / MB, 1)
      return { total: procs.reduce((n, p) => n + p.rss, 0) / MB, workersAvg: avg((p) => p.rss), workersPssAvg: avg((p) => p.pss), workersAnonAvg: avg((p) => p.anon), byProcess }
    }
    const idle = await sample()
    const after: Array<Awaited<ReturnType<typeof sample>>> = []
    const bursts: BurstResult[] = []
    for (let k = 1; k <= 3; k++) {
      bursts.push(await runBurst(scope, ctx, br, orch, `m${k}`, count))
      after.push(await sample())
    }
    await br.stop()
    // The floor: an idle bare node:https worker (same certificates), as the reference.
    const barePort = await freePort()
    const bare = await startTool(scope, ctx, 'bare-server', { port: barePort, workers: 1, cert: ctx.certs.cert, key: ctx.certs.key, ca: ctx.certs.ca, token: br.runner.token, statusBody: '{}', keepAliveMs: 5000 })
    await sleep(1000)
    const bareMem = descendants(bare.pid).map(memOf)
    const bareWorker = round(bareMem.reduce((n, m) => n + m.rss, 0) / MB, 1)
    const bareAnon = round(bareMem.reduce((n, m) => n + m.anon, 0) / MB, 1)
    await bare.stop()
    const growth = round((after[2].total - after[0].total) / after[0].total * 100, 1)
    const perWorker = round(idle.workersAvg, 1)
    return {
      n: 5,
      name: 'memory',
      title: `Memory (RSS of supervisor + ${Object.keys(idle.byProcess).length - 1} workers; 3 bursts of ${count})`,
      runnerText: `idle ${round(idle.total, 0)} MB (workers avg RSS ${perWorker} MB, PSS ${round(idle.workersPssAvg, 1)} MB, private ${round(idle.workersAnonAvg, 1)} MB); after bursts ${after.map((a) => round(a.total, 0)).join(' / ')} MB; growth burst 1→3 ${growth}%`,
      referenceText: `idle bare node:https worker: RSS ${bareWorker} MB, private ${bareAnon} MB`,
      ratio: round(bareWorker / perWorker, 3),
      targets: [
        { what: 'idle MB per worker (avg)', target: '<= 60', value: perWorker, met: perWorker <= 60 },
        { what: 'growth burst 1→3 %', target: '<= 10', value: growth, met: growth <= 10 }
      ],
      runner: {
        idle_total_mb: round(idle.total, 1),
        idle_worker_avg_mb: perWorker,
        idle_worker_avg_pss_mb: round(idle.workersPssAvg, 1),
        idle_worker_avg_private_mb: round(idle.workersAnonAvg, 1),
        idle_by_process_mb: idle.byProcess,
        after_bursts_total_mb: after.map((a) => round(a.total, 1)),
        after_bursts_by_process_mb: after.map((a) => a.byProcess),
        growth_percent: growth,
        bursts: bursts.map((b) => ({ per_second: b.per_second, lost: b.lost, duplicated: b.duplicated, notifications_missing: b.notifications?.missing }))
      },
      reference: { idle_bare_worker_mb: bareWorker, idle_bare_worker_private_mb: bareAnon },
      notes: ['ratio = bare worker RSS / runner worker RSS (idle)', 'RSS, PSS (shared pages such as the node binary divided among the processes sharing them) and private (anonymous) memory from /proc/<pid>/smaps_rollup, sampled after a short settle; the target is on RSS; the external redis-server is not counted']
    }
  } finally {
    await scope.close()
  }
}
