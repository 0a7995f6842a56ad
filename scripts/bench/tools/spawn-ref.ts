// The reference for running a robot: a bare Node loop that spawns /bin/true the way the
// executor does (own process group, stdout/stderr piped and read) and waits for it to
// close. Two modes:
//   {"mode":"sequential","count":N}            -> spawn() call and spawn -> close, per run
//   {"mode":"burst","count":N,"concurrency":C} -> N runs, C at a time: runs per second
// Prints one JSON line on stdout.
import { spawn } from 'node:child_process'

export interface SpawnRefOptions { mode: 'sequential' | 'burst', count: number, concurrency?: number, command?: string[], timeoutMs?: number }

function runOnce (cmd: string[]): Promise<{ callUs: number, totalUs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(cmd[0], cmd.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const t1 = process.hrtime.bigint()
    child.stdout!.on('data', () => {})
    child.stderr!.on('data', () => {})
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd.join(' ')} exited ${String(code)}`))
      else resolve({ callUs: Number(t1 - t0) / 1000, totalUs: Number(process.hrtime.bigint() - t0) / 1000 })
    })
  })
}

function q (values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]
}

async function main (o: SpawnRefOptions): Promise<unknown> {
  const cmd = o.command ?? ['/bin/true']
  const deadline = Date.now() + (o.timeoutMs ?? 120_000)
  if (o.mode === 'sequential') {
    const call: number[] = []
    const total: number[] = []
    for (let i = 0; i < o.count && Date.now() < deadline; i++) {
      const r = await runOnce(cmd)
      call.push(r.callUs)
      total.push(r.totalUs)
    }
    return {
      runs: total.length,
      spawnCallUs: { p50: q(call, 0.5), p99: q(call, 0.99) },
      spawnToCloseUs: { p50: q(total, 0.5), p99: q(total, 0.99) }
    }
  }
  let next = 0
  let done = 0
  const cpu0 = process.cpuUsage()
  const started = process.hrtime.bigint()
  const loop = async (): Promise<void> => {
    while (next < o.count && Date.now() < deadline) {
      next++
      await runOnce(cmd)
      done++
    }
  }
  await Promise.all(Array.from({ length: o.concurrency ?? 1 }, loop))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpu0)
  return { runs: done, seconds, perSecond: done / seconds, cpuUsPerRun: (cpu.user + cpu.system) / Math.max(1, done) }
}

main(JSON.parse(process.argv[2]) as SpawnRefOptions).then((r) => {
  process.stdout.write(JSON.stringify(r) + '\n')
}, (err: unknown) => {
  process.stderr.write(`spawn-ref: ${String(err)}\n`)
  process.exit(1)
})
