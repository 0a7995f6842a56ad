// 4. Availability: failed requests under load (64 keep-alive connections, GET /api/status)
// while the supervisor reloads on HUP, and while one http worker is SIGKILLed. The
// reference is the same load with nothing happening.
import path from 'node:path'
import { logged } from '../../test/helpers/logs'
import { alive } from '../../test/helpers/runner'
import { startBenchRunner } from './bench-runner'
import { progress, round, runTool, Scope, sleep, until, type Ctx } from './harness'
import { underLoad } from './profile'
import type { Measurement } from './report'
import type { LoadOptions, LoadResult } from './tools/loadgen'

const CONNECTIONS = 64

function kinds (r: LoadResult): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of r.failures) out[f.error] = (out[f.error] ?? 0) + 1
  return out
}

export async function availability (ctx: Ctx): Promise<Measurement> {
  const scope = new Scope()
  try {
    const br = await startBenchRunner(scope, ctx)
    const { runner } = br
    const logFile = path.join(runner.dir, 'logs', 'server.log')
    const durationMs = ctx.quick ? 5000 : 12_000
    const eventAtMs = ctx.quick ? 1500 : 3000
    const opts: LoadOptions = {
      port: runner.port, ca: ctx.certs.ca, cert: ctx.certs.clientCert, key: ctx.certs.clientKey, token: runner.token, path: '/api/status',
      connections: CONNECTIONS, durationMs, warmupMs: 0, maxRequests: 5_000_000, timeoutMs: 10_000
    }
    const load = (): Promise<LoadResult> => underLoad(() => runTool<LoadResult>(scope, ctx, 'loadgen', opts))
    const httpPids = (): number[] => br.procs().filter((p) => p.role === 'http').map((p) => p.pid)
    const target = httpPids().length

    progress('availability: control load (nothing happens)')
    const control = await load()

    progress('availability: HUP under load')
    const before = br.procs().filter((p) => p.role !== 'supervisor').map((p) => p.pid)
    let pending = load()
    await sleep(eventAtMs)
    const hupAt = Date.now()
    process.kill(runner.pid, 'SIGHUP')
    const reloadMs = await until('reload complete', () => logged(logFile, 'reload complete').length > 0 && Date.now() - hupAt, 30_000, 20).catch(() => null)
    const hup = await pending
    const replacedMs = await until('old workers gone', () => before.every((pid) => !alive(pid)) && Date.now() - hupAt, 60_000, 50).catch(() => null)

    progress('availability: SIGKILL of one http worker under load')
    pending = load()
    await sleep(eventAtMs)
    const victim = httpPids()[0]
    const killAt = Date.now()
    process.kill(victim, 'SIGKILL')
    const replacedKillMs = await until('http worker replaced', () => { const now = httpPids(); return now.length === target && !now.includes(victim) && Date.now() - killAt }, 30_000, 20).catch(() => null)
    const kill = await pending
    await br.stop()
    const afterKill = kill.failures.map((f) => kill.startedAt + f.atMs - killAt)

    const text = (r: LoadResult): string => `${r.failed} failed of ${r.sent}`
    return {
      n: 4,
      name: 'availability',
      title: `Availability under load (${CONNECTIONS} keep-alive conns, ${durationMs / 1000} s each)`,
      runnerText: `HUP reload: ${text(hup)}; SIGKILL of an http worker: ${text(kill)}` +
        (kill.failed > 0 ? ` (all within ${Math.max(...afterKill)} ms of the kill)` : ''),
      referenceText: `same load, nothing happening: ${text(control)} (${round(control.rps, 0)} req/s)`,
      ratio: round(((hup.sent + kill.sent) / 2) / control.sent, 3),
      targets: [
        { what: 'failed during HUP', target: '= 0', value: hup.failed, met: hup.failed === 0 },
        { what: 'failed during SIGKILL', target: '= 0', value: kill.failed, met: kill.failed === 0 }
      ],
      runner: {
        hup: { sent: hup.sent, failed: hup.failed, failure_kinds: kinds(hup), connection_close: hup.connectionClose, rps: round(hup.rps, 0), reload_complete_ms: reloadMs, old_workers_gone_ms: replacedMs },
        sigkill: { sent: kill.sent, failed: kill.failed, failure_kinds: kinds(kill), rps: round(kill.rps, 0), replaced_ms: replacedKillMs, failures_ms_after_kill: afterKill }
      },
      reference: { sent: control.sent, failed: control.failed, rps: round(control.rps, 0) },
      notes: [
        'ratio = requests served during the events / during the control run',
        `the SIGKILLed worker held about ${Math.round(CONNECTIONS / target)} of the ${CONNECTIONS} connections; a request in flight on them cannot be answered (the client sees a reset); new connections go to the other workers`
      ]
    }
  } finally {
    await scope.close()
  }
}
