// 1. HTTP throughput: authenticated GET /api/status over mTLS keep-alive, 64 connections,
// against a bare node:https cluster with the same worker count, certificates and
// client-certificate check, answering a JSON body of the same size. Rounds alternate
// reference/runner (ABBA) so drift on a shared machine falls on both.
import { freePort } from '../../test/helpers/free-port'
import { startBenchRunner } from './bench-runner'
import { descendants } from '../../test/helpers/runner'
import { cpuMeter, pidsMatching, progress, round, runTool, startTool, Scope, type Ctx } from './harness'
import { underLoad } from './profile'
import type { Measurement } from './report'
import type { LoadOptions, LoadResult } from './tools/loadgen'

const CONNECTIONS = 64

export async function throughput (ctx: Ctx): Promise<Measurement> {
  const scope = new Scope()
  try {
    const br = await startBenchRunner(scope, ctx)
    const { runner } = br
    const status = await runner.request({ path: '/api/status' })
    if (status.status !== 200) throw new Error(`GET /api/status: ${status.status} ${status.body}`)
    const workers = status.json().workers.http as number
    const barePort = await freePort()
    const bare = await startTool(scope, ctx, 'bare-server', {
      port: barePort, workers, cert: ctx.certs.cert, key: ctx.certs.key, ca: ctx.certs.ca, token: runner.token, statusBody: status.body, keepAliveMs: 5000
    })
    const base = {
      ca: ctx.certs.ca, cert: ctx.certs.clientCert, key: ctx.certs.clientKey, token: runner.token,
      connections: CONNECTIONS, timeoutMs: 10_000, maxRequests: 5_000_000,
      durationMs: ctx.quick ? 2500 : 10_000, warmupMs: ctx.quick ? 500 : 2000
    }
    // CPU each side's processes use per request: where a ratio comes from.
    const redisPids = pidsMatching(`redis-server 127.0.0.1:${br.redis.port}`)
    const runnerProcs = { workers: br.procs().filter((p) => p.role === 'http').map((p) => p.pid), supervisor: [runner.pid], queue: br.procs().filter((p) => p.role === 'queue').map((p) => p.pid), redis: redisPids }
    const bareProcs = { workers: descendants(bare.pid), supervisor: [bare.pid] }
    const load = async (which: string, port: number, path: string): Promise<LoadResult & { cpu: Record<string, number> }> => {
      const stop = cpuMeter(which === 'ref' ? bareProcs : runnerProcs)
      const go = (): Promise<LoadResult> => runTool<LoadResult>(scope, ctx, 'loadgen', { ...base, port, path } satisfies LoadOptions)
      const r = which === 'ref' ? await go() : await underLoad(go)
      return { ...r, cpu: stop() }
    }
    const rounds = ctx.quick ? ['ref', 'runner'] : ['ref', 'runner', 'runner', 'ref']
    const results: Record<string, Array<LoadResult & { cpu: Record<string, number> }>> = { ref: [], runner: [] }
    for (const which of rounds) {
      progress(`throughput: ${which} round (${base.durationMs} ms, ${CONNECTIONS} connections)`)
      results[which].push(which === 'ref' ? await load(which, barePort, '/status') : await load(which, runner.port, '/api/status'))
    }
    // Diagnostic, not a target: the same load on GET /health (no auth, no rate limit, no Redis).
    progress('throughput: diagnostic round on GET /health')
    const health = await load('runner', runner.port, '/health')
    await bare.stop()
    await br.stop()
    const perRequest = (rs: Array<{ sent: number, cpu: Record<string, number> }>): Record<string, number> => {
      const sent = rs.reduce((n, r) => n + r.sent, 0)
      const out: Record<string, number> = {}
      for (const r of rs) for (const [k, ms] of Object.entries(r.cpu)) out[k] = (out[k] ?? 0) + ms
      for (const k of Object.keys(out)) out[k] = round(out[k] * 1000 / sent, 0)
      out.total = Object.values(out).reduce((a, b) => a + b, 0)
      return out
    }
    const agg = (rs: Array<LoadResult & { cpu: Record<string, number> }>) => ({
      cpu_us_per_request: perRequest(rs),
      rps: round(mean(rs.map((r) => r.rps)), 0),
      p50_ms: round(mean(rs.map((r) => r.latencyUs.p50)) / 1000, 2),
      p99_ms: round(mean(rs.map((r) => r.latencyUs.p99)) / 1000, 2),
      requests: rs.reduce((n, r) => n + r.requests, 0),
      failed: rs.reduce((n, r) => n + r.failed, 0),
      loadgen_cpu_percent: round(mean(rs.map((r) => r.cpuPercent)), 0),
      rounds_rps: rs.map((r) => round(r.rps, 0))
    })
    const run = agg(results.runner)
    const ref = agg(results.ref)
    const healthRun = agg([health])
    const ratio = round(run.rps / ref.rps, 3)
    const text = (a: ReturnType<typeof agg>): string => `${a.rps.toLocaleString('en-US')} req/s, p50 ${a.p50_ms} ms, p99 ${a.p99_ms} ms`
    return {
      n: 1,
      name: 'throughput',
      title: `HTTP throughput (GET /api/status, mTLS keep-alive, ${CONNECTIONS} conns, ${workers} http workers)`,
      runnerText: text(run) + (run.failed > 0 ? `, ${run.failed} failed` : ''),
      referenceText: `bare node:https cluster: ${text(ref)}`,
      ratio,
      targets: [{ what: 'ratio', target: '>= 0.6', value: ratio, met: ratio >= 0.6 }],
      runner: { ...run, http_workers: workers, body_bytes: Buffer.byteLength(status.body), diagnostic_health: healthRun },
      reference: ref,
      notes: [
        `server CPU per request (µs, user+system from /proc): runner ${JSON.stringify(run.cpu_us_per_request)}, reference ${JSON.stringify(ref.cpu_us_per_request)}`,
        `diagnostic GET /health (no auth, rate limit or Redis): ${healthRun.rps} req/s, p50 ${healthRun.p50_ms} ms, CPU µs/request ${JSON.stringify(healthRun.cpu_us_per_request)}`,
        `rate_limit raised to ${1e9}/min for this run (one client certificate); the limit is still counted in Redis on every request`,
        `load generator: one process, ${CONNECTIONS} connections, ${base.durationMs / 1000} s per round (${base.warmupMs / 1000} s warm-up), ${rounds.length / 2} round(s) each, ABBA order; its CPU use: runner rounds ${run.loadgen_cpu_percent}%, reference rounds ${ref.loadgen_cpu_percent}% of one core`
      ]
    }
  } finally {
    await scope.close()
  }
}

function mean (xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}
