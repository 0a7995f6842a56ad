// 6. Log streaming: a robot writes 100 MB (100-byte lines). A follower reading the SSE
// stream as fast as it can gives MB/s; a follower reading 1 MB/s shows what a slow
// client costs the http worker (peak RSS growth, sampled from /proc every 50 ms).
// The limit: a bare node:https worker streaming the same bytes as SSE frames.
import { freePort } from '../../test/helpers/free-port'
import { addRobot, waitStatus } from '../../test/helpers/robots'
import { startBenchRunner, type Proc } from './bench-runner'
import { MB, progress, round, rssBytes, runTool, Scope, startTool, type Ctx } from './harness'
import { underLoad } from './profile'
import type { Measurement } from './report'

interface SseResult { status: number, bytes: number, outLines: number, ended: boolean, seconds: number, mbPerS: number }

/** Peak RSS growth per process over a baseline taken at start, sampled every 50 ms. */
function sampleRss (procs: Proc[]): { stop: () => Record<string, { baseline_mb: number, peak_mb: number, growth_mb: number }> } {
  const base = new Map(procs.map((p) => [p.pid, rssBytes(p.pid)]))
  const peak = new Map(base)
  const timer = setInterval(() => {
    for (const p of procs) peak.set(p.pid, Math.max(peak.get(p.pid) ?? 0, rssBytes(p.pid)))
  }, 50)
  return {
    stop: () => {
      clearInterval(timer)
      const out: Record<string, { baseline_mb: number, peak_mb: number, growth_mb: number }> = {}
      for (const p of procs) {
        const b = base.get(p.pid) ?? 0
        const k = peak.get(p.pid) ?? 0
        out[`${p.role}:${p.pid}`] = { baseline_mb: round(b / MB, 1), peak_mb: round(k / MB, 1), growth_mb: round((k - b) / MB, 1) }
      }
      return out
    }
  }
}

const maxGrowth = (s: Record<string, { growth_mb: number }>, role: string): number =>
  Math.max(0, ...Object.entries(s).filter(([k]) => k.startsWith(`${role}:`)).map(([, v]) => v.growth_mb))

export async function logStream (ctx: Ctx): Promise<Measurement> {
  const bytes = ctx.quick ? 10_000_000 : 100_000_000
  const lines = bytes / 100
  const slowRate = 1_000_000
  const slowMs = ctx.quick ? 4000 : 20_000
  const scope = new Scope()
  try {
    const br = await startBenchRunner(scope, ctx, { max_log_bytes: 256 * MB })
    const { runner } = br
    addRobot(runner, 'bigout', { command: ['/bin/sh', '-c', `yes '${'x'.repeat(99)}' | head -c ${bytes}`] })
    const sse = { mode: 'sse', port: runner.port, ca: ctx.certs.ca, cert: ctx.certs.clientCert, key: ctx.certs.clientKey, token: runner.token, timeoutMs: 0 }
    const start = async (id: string): Promise<void> => {
      const res = await runner.request({ path: '/api/executions', body: { robot: 'bigout', execution_id: id } })
      if (res.status !== 202) throw new Error(`POST ${id}: ${res.status} ${res.body}`)
    }

    progress(`logs: fast follower of ${bytes / 1e6} MB`)
    let sampler = sampleRss(br.procs())
    await start('fast')
    const fast = await underLoad(() => runTool<SseResult>(scope, ctx, 'driver', { ...sse, path: '/api/executions/fast/logs?follow=1', maxMs: ctx.quick ? 60_000 : 240_000 }))
    const fastRec = await waitStatus(runner, 'fast', ['succeeded', 'failed'], 120_000)
    const fastRss = sampler.stop()
    const robotSeconds = (Date.parse(fastRec.finished_at) - Date.parse(fastRec.started_at)) / 1000

    progress(`logs: slow follower (${slowRate / 1e6} MB/s for ${slowMs / 1000} s)`)
    sampler = sampleRss(br.procs())
    await start('slow')
    const slow = await underLoad(() => runTool<SseResult>(scope, ctx, 'driver', { ...sse, path: '/api/executions/slow/logs?follow=1', maxMs: slowMs, rateBytesPerS: slowRate }))
    await waitStatus(runner, 'slow', ['succeeded', 'failed'], 120_000)
    const slowRss = sampler.stop()
    const workers = br.procs().filter((p) => p.role === 'http').length
    await br.stop()

    progress('logs: reference stream')
    const barePort = await freePort()
    const bare = await startTool(scope, ctx, 'bare-server', { port: barePort, workers, cert: ctx.certs.cert, key: ctx.certs.key, ca: ctx.certs.ca, token: runner.token, statusBody: '{}', keepAliveMs: 5000 })
    const ref = await runTool<SseResult>(scope, ctx, 'driver', { ...sse, port: barePort, path: `/stream?bytes=${fast.bytes}`, maxMs: 120_000 })
    await bare.stop()

    const slowGrowth = maxGrowth(slowRss, 'http')
    const ratio = round(fast.mbPerS / ref.mbPerS, 3)
    return {
      n: 6,
      name: 'logs',
      title: `Log streaming (robot writes ${bytes / 1e6} MB; SSE follow)`,
      runnerText: `fast follower ${round(fast.mbPerS, 1)} MB/s (${round(fast.bytes / 1e6, 0)} MB in ${round(fast.seconds, 1)} s, ${round(fast.outLines / lines * 100, 1)}% of lines); slow reader (1 MB/s): http worker RSS +${slowGrowth} MB`,
      referenceText: `bare node:https SSE stream: ${round(ref.mbPerS, 1)} MB/s`,
      ratio,
      targets: [{ what: 'http worker RSS growth, slow reader', target: '<= 64 MB', value: slowGrowth, met: slowGrowth <= 64 }],
      runner: {
        fast: { mb_per_s: round(fast.mbPerS, 1), bytes: fast.bytes, seconds: round(fast.seconds, 2), lines_received: fast.outLines, lines_written: lines, ended: fast.ended },
        robot_to_final_status_s: round(robotSeconds, 2),
        log_write_mb_per_s: round(bytes / 1e6 / robotSeconds, 1),
        fast_rss: fastRss,
        fast_http_growth_mb: maxGrowth(fastRss, 'http'),
        fast_queue_growth_mb: maxGrowth(fastRss, 'queue'),
        slow: { bytes_read: slow.bytes, seconds: round(slow.seconds, 1) },
        slow_rss: slowRss,
        slow_http_growth_mb: slowGrowth,
        slow_queue_growth_mb: maxGrowth(slowRss, 'queue')
      },
      reference: { mb_per_s: round(ref.mbPerS, 1), bytes: ref.bytes, seconds: round(ref.seconds, 2) },
      notes: [
        `max_log_bytes raised to 256 MiB for this run (100 MB of output plus the 30-byte timestamp prefix per line exceeds the 100 MiB default)`,
        'MB/s counts SSE bytes on the wire (event framing included), first byte to end; lines received below 100% means entries trimmed from the Redis Stream (~4000 entries) before the follower read them'
      ]
    }
  } finally {
    await scope.close()
  }
}
