// Experiment (scripts/bench/run --experiment http-stack): what each candidate
// optimisation of the /api/status path is worth, in CPU per request, one process at a
// time, the same load generator as measurement 1 (16 keep-alive mTLS connections).
// See tools/http-stack.ts for what the variants change.
import path from 'node:path'
import { freePort } from '../../test/helpers/free-port'
import { startRedis } from '../../test/helpers/redis'
import { tmpDir } from '../../test/helpers/tmp'
import { cpuMeter, progress, round, runTool, Scope, startTool, type Ctx } from './harness'
import type { LoadResult } from './tools/loadgen'

const VARIANTS = [
  [],
  ['peercache'],
  ['peercache', 'statichelmet'],
  ['peercache', 'statichelmet', 'autopipeline'],
  ['peercache', 'statichelmet', 'autopipeline', 'buflog'],
  ['peercache', 'statichelmet', 'autopipeline', 'buflog', 'localrl'],
  []
]

export async function httpStack (ctx: Ctx): Promise<void> {
  const scope = new Scope()
  try {
    const redis = await startRedis(scope)
    const logDir = tmpDir(scope, 'rr-bench-stack')
    console.log('| variant (cumulative) | req/s | CPU µs/request |\n|---|---|---|')
    for (const features of VARIANTS) {
      const port = await freePort()
      const server = await startTool(scope, ctx, 'http-stack', {
        port, root: path.resolve(__dirname, '..', '..'), certs: { cert: ctx.certs.cert, key: ctx.certs.key, ca: ctx.certs.ca }, redisUrl: redis.url, token: 'bench-token', features, logDir
      })
      progress(`http-stack: ${features.join('+') || 'as the runner does it'}`)
      const stop = cpuMeter({ server: [server.pid] })
      const r = await runTool<LoadResult>(scope, ctx, 'loadgen', {
        port, path: '/api/status', ca: ctx.certs.ca, cert: ctx.certs.clientCert, key: ctx.certs.clientKey, token: 'bench-token',
        connections: 16, durationMs: ctx.quick ? 2500 : 6000, warmupMs: ctx.quick ? 500 : 1000, maxRequests: 5_000_000, timeoutMs: 10_000
      })
      const cpu = stop()
      console.log(`| ${features.join(' + ') || 'as the runner does it'} | ${round(r.rps, 0)} | ${round(cpu.server * 1000 / r.sent, 0)} |${r.failed > 0 ? ` ${r.failed} failed` : ''}`)
      await server.stop()
    }
  } finally {
    await scope.close()
  }
}
