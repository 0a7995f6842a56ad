// 2. Dispatch latency: sequential POSTs of a robot running /bin/true. created -> spawned
// comes from the record (started_at is written right after spawn() returned); POST ->
// succeeded is what a client polling the record sees. The limit: a bare Node loop
// spawning /bin/true the same way (own process group, pipes read) and waiting for it.
import path from 'node:path'
import { logged } from '../../test/helpers/logs'
import { addRobot } from '../../test/helpers/robots'
import { startBenchRunner } from './bench-runner'
import { progress, quantile, round, runTool, Scope, type Ctx } from './harness'
import { underLoad } from './profile'
import type { Measurement } from './report'

interface Run { id: string, postMs: number, observedMs: number, polls: number, status: string, created_at: string, started_at: string | null, finished_at: string | null }
interface SeqRef { runs: number, spawnCallUs: { p50: number, p99: number }, spawnToCloseUs: { p50: number, p99: number } }

export const TRUE_ROBOT = { command: ['/bin/true'] }

export async function dispatch (ctx: Ctx): Promise<Measurement> {
  const count = ctx.quick ? 30 : 200
  const scope = new Scope()
  try {
    const br = await startBenchRunner(scope, ctx)
    const { runner } = br
    addRobot(runner, 'true', TRUE_ROBOT)
    const driver = { port: runner.port, ca: ctx.certs.ca, cert: ctx.certs.clientCert, key: ctx.certs.clientKey, token: runner.token, robot: 'true', mode: 'dispatch' }
    progress(`dispatch: warm-up, then ${count} sequential executions`)
    await runTool(scope, ctx, 'driver', { ...driver, count: 10, idPrefix: 'warm', timeoutMs: 30_000 })
    const res = await underLoad(() => runTool<{ runs: Run[], errors: string[] }>(scope, ctx, 'driver', { ...driver, count, idPrefix: 'd', timeoutMs: ctx.quick ? 30_000 : 120_000 }))
    await br.stop()
    // The queue worker logs 'execution started' right after its claim: splits created ->
    // spawned into created -> claimed (HTTP, Redis, wake-up) and claimed -> spawned (the executor).
    const claimedAt = new Map<string, number>()
    for (const l of logged(path.join(runner.dir, 'logs', 'server.log'), 'execution started')) claimedAt.set(String(l.execution_id), Date.parse(String(l.time)))
    progress('dispatch: reference spawn loop')
    const ref = await runTool<SeqRef>(scope, ctx, 'spawn-ref', { mode: 'sequential', count: count + 10 })

    const ok = res.runs.filter((r) => r.status === 'succeeded' && r.started_at !== null)
    const spawned = ok.map((r) => Date.parse(r.started_at!) - Date.parse(r.created_at))
    const finished = ok.map((r) => Date.parse(r.finished_at!) - Date.parse(r.created_at))
    const observed = ok.map((r) => r.observedMs)
    const claimed = ok.filter((r) => claimedAt.has(r.id))
    const toClaim = claimed.map((r) => claimedAt.get(r.id)! - Date.parse(r.created_at))
    const claimToSpawn = claimed.map((r) => Date.parse(r.started_at!) - claimedAt.get(r.id)!)
    const post = res.runs.map((r) => r.postMs)
    const run = {
      executions: res.runs.length,
      succeeded: ok.length,
      errors: res.errors.length,
      created_to_spawned_ms: { p50: quantile(spawned, 0.5), p99: quantile(spawned, 0.99) },
      created_to_claimed_ms: { p50: quantile(toClaim, 0.5), p99: quantile(toClaim, 0.99) },
      claimed_to_spawned_ms: { p50: quantile(claimToSpawn, 0.5), p99: quantile(claimToSpawn, 0.99) },
      created_to_finished_ms: { p50: quantile(finished, 0.5), p99: quantile(finished, 0.99) },
      post_to_succeeded_ms: { p50: round(quantile(observed, 0.5)), p99: round(quantile(observed, 0.99)) },
      post_round_trip_ms: { p50: round(quantile(post, 0.5)), p99: round(quantile(post, 0.99)) },
      polls_per_execution: round(ok.reduce((n, r) => n + r.polls, 0) / Math.max(1, ok.length), 1)
    }
    const reference = {
      runs: ref.runs,
      spawn_call_ms: { p50: round(ref.spawnCallUs.p50 / 1000), p99: round(ref.spawnCallUs.p99 / 1000) },
      spawn_to_close_ms: { p50: round(ref.spawnToCloseUs.p50 / 1000), p99: round(ref.spawnToCloseUs.p99 / 1000) }
    }
    const ratio = round(reference.spawn_to_close_ms.p50 / run.post_to_succeeded_ms.p50, 3)
    const c2s = run.created_to_spawned_ms
    return {
      n: 2,
      name: 'dispatch',
      title: `Dispatch latency (${count} sequential /bin/true)`,
      runnerText: `created→spawned p50 ${c2s.p50} ms, p99 ${c2s.p99} ms; POST→succeeded p50 ${run.post_to_succeeded_ms.p50} ms, p99 ${run.post_to_succeeded_ms.p99} ms` +
        (ok.length < count ? `; only ${ok.length}/${count} succeeded` : ''),
      referenceText: `bare spawn(): call p50 ${reference.spawn_call_ms.p50} ms; spawn→close p50 ${reference.spawn_to_close_ms.p50} ms, p99 ${reference.spawn_to_close_ms.p99} ms`,
      ratio,
      targets: [
        { what: 'created→spawned p50', target: '<= 5 ms', value: c2s.p50, met: c2s.p50 <= 5 },
        { what: 'created→spawned p99', target: '<= 20 ms', value: c2s.p99, met: c2s.p99 <= 20 }
      ],
      runner: run,
      reference,
      notes: [
        'ratio = bare spawn→close p50 / runner POST→succeeded p50',
        `created→spawned split at the queue worker's "execution started" log line (right after the claim): created→claimed p50 ${quantile(toClaim, 0.5)} ms / p99 ${quantile(toClaim, 0.99)} ms, claimed→spawned p50 ${quantile(claimToSpawn, 0.5)} ms / p99 ${quantile(claimToSpawn, 0.99)} ms`,
        'created_at and started_at are millisecond timestamps: created→spawned has 1 ms resolution; POST→succeeded is polled back to back (resolution: one GET)'
      ]
    }
  } finally {
    await scope.close()
  }
}
