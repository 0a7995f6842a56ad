// The benchmark suite: each measurement beside its reference, in one run, as ratios.
//   scripts/bench/run [--quick] [--only NAME[,NAME]] [--profile] [--http-workers N] [--out DIR]
//                     [--runner-config JSON] [--runner-node-flags FLAGS]   (experiments)
//   scripts/bench/run --experiment http-stack   (what each /api/status optimisation is worth)
// Prints a markdown table row and a JSON line ({"bench": ...}) per measurement, then the
// whole table. Starts and stops its own Redis servers, runners and load generators.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { makeCerts } from '../../test/helpers/certs'
import { dualUseCerts } from '../../test/helpers/orchestrator'
import { tmpDir } from '../../test/helpers/tmp'
import { availability } from './availability'
import { burst, memory } from './burst'
import { dispatch } from './dispatch'
import { progress, Scope, type Ctx } from './harness'
import { httpStack } from './http-stack'
import { logStream } from './log-stream'
import { loadWindows, profileReport } from './profile'
import { HEADER, jsonLine, machine, row, type Measurement } from './report'
import { throughput } from './throughput'

const MEASUREMENTS: Record<string, { n: number, title: string, run: (ctx: Ctx) => Promise<Measurement> }> = {
  throughput: { n: 1, title: 'HTTP throughput', run: throughput },
  dispatch: { n: 2, title: 'Dispatch latency', run: dispatch },
  burst: { n: 3, title: 'Burst', run: burst },
  availability: { n: 4, title: 'Availability', run: availability },
  memory: { n: 5, title: 'Memory', run: memory },
  logs: { n: 6, title: 'Log streaming', run: logStream }
}

interface Args { quick: boolean, only: string[], experiment?: string, profile: boolean, httpWorkers?: number, out?: string, nodeFlags?: string, runnerConfig?: Record<string, unknown> }

function parseArgs (argv: string[]): Args {
  const a: Args = { quick: false, only: [], profile: false }
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf('=')
    const [flag, inline] = eq === -1 ? [argv[i], undefined] : [argv[i].slice(0, eq), argv[i].slice(eq + 1)]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    switch (flag) {
      case '--quick': a.quick = true; break
      case '--profile': a.profile = true; break
      case '--only': a.only.push(...value().split(',').filter(Boolean)); break
      case '--http-workers': a.httpWorkers = Number(value()); break
      case '--out': a.out = value(); break
      case '--runner-node-flags': a.nodeFlags = value(); break
      case '--experiment': a.experiment = value(); break
      case '--runner-config': a.runnerConfig = JSON.parse(value()) as Record<string, unknown>; break
      default: throw new Error(`unknown argument ${argv[i]} (use --quick, --only NAME, --profile, --http-workers N, --out DIR, --runner-node-flags FLAGS, --runner-config JSON, --experiment http-stack)`)
    }
  }
  if (a.experiment !== undefined && a.experiment !== 'http-stack') throw new Error(`--experiment ${a.experiment}: the one experiment is http-stack`)
  for (const name of a.only) if (!(name in MEASUREMENTS)) throw new Error(`--only ${name}: one of ${Object.keys(MEASUREMENTS).join(', ')}`)
  return a
}

async function main (): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const names = args.only.length > 0 ? Object.keys(MEASUREMENTS).filter((n) => args.only.includes(n)) : Object.keys(MEASUREMENTS)
  const top = new Scope()
  const m = machine()
  const out = args.out ?? (args.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'rr-bench-')) : undefined)
  if (out !== undefined) fs.mkdirSync(out, { recursive: true })
  const certs = dualUseCerts(makeCerts(top))
  // The runner's default http_workers: min(4, 2 x cores + 1).
  const httpWorkers = args.httpWorkers ?? Math.min(4, 2 * os.availableParallelism() + 1)
  const base: Ctx = { quick: args.quick, certs, workDir: tmpDir(top, 'rr-bench'), httpWorkers, nodeFlags: args.nodeFlags, runnerConfig: args.runnerConfig }

  if (args.experiment === 'http-stack') {
    console.log(`# Experiment: the /api/status stack with candidate optimisations (${m.nproc} cpus, node ${m.node}, ${m.date})\n`)
    await httpStack(base)
    await top.close()
    return 0
  }
  console.log(`# Robot Runner benchmarks${args.quick ? ' (--quick: short runs, numbers are indicative only)' : ''}`)
  console.log(`machine: ${m.nproc} cpus (${m.cpu}), ${m.memoryGB} GB, node ${m.node}, linux ${m.kernel}, load average ${m.loadavg.join(' ')}, ${m.date}`)
  console.log(`runner: ${httpWorkers} http workers, 1 queue worker (concurrency 4), rate_limit raised; every measurement has its own redis-server and runner`)
  if (args.runnerConfig !== undefined || args.nodeFlags !== undefined) console.log(`EXPERIMENT: runner config ${JSON.stringify(args.runnerConfig ?? {})}, node flags "${args.nodeFlags ?? ''}"`)
  console.log('')
  console.log(HEADER)
  const results: Measurement[] = []
  for (const name of names) {
    const spec = MEASUREMENTS[name]
    const ctx: Ctx = { ...base, ...(args.profile ? { profileDir: path.join(out!, `profile-${name}`) } : {}) }
    let result: Measurement
    try {
      result = await spec.run(ctx)
    } catch (err) {
      progress(`${name} failed: ${(err as Error).stack ?? String(err)}`)
      result = { n: spec.n, name, title: spec.title, runnerText: '-', referenceText: '-', ratio: null, targets: [], runner: {}, reference: {}, notes: [], error: (err as Error).message.split('\n')[0] }
    }
    results.push(result)
    console.log(row(result))
    console.log(jsonLine(result))
    if (ctx.profileDir !== undefined) {
      const report = profileReport(ctx.profileDir, titles(ctx.profileDir))
      console.log(`\nprofile (${name}), ${ctx.profileDir}:${report.text}`)
    }
    loadWindows.length = 0
  }
  await top.close()

  const end = machine()
  console.log(`\n## Results (${end.date}; load average at end ${end.loadavg.join(' ')})\n`)
  console.log(HEADER)
  for (const r of [...results].sort((a, b) => a.n - b.n)) console.log(row(r))
  console.log('')
  for (const r of results) for (const note of r.notes) console.log(`- ${r.name}: ${note}`)
  if (out !== undefined) {
    fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify({ machine: m, quick: args.quick, results }, null, 2))
    console.log(`\nresults and profiles: ${out}`)
  }
  return results.some((r) => r.error !== undefined) ? 1 : 0
}

/** pid -> process title, from the titles file each profiled measurement leaves. */
function titles (dir: string): Map<number, string> {
  try {
    return new Map(Object.entries(JSON.parse(fs.readFileSync(path.join(dir, 'titles.json'), 'utf8')) as Record<string, string>).map(([k, v]) => [Number(k), v]))
  } catch {
    return new Map()
  }
}

async function closeAll (): Promise<void> {
  for (const s of [...Scope.open].reverse()) await s.close()
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    progress(`${sig}: stopping everything this run started`)
    void closeAll().finally(() => process.exit(130))
  })
}
// A stuck measurement must not hang the suite forever.
const guard = setTimeout(() => {
  progress('time budget exceeded: stopping everything this run started')
  void closeAll().finally(() => process.exit(2))
}, (process.argv.includes('--quick') ? 15 : 45) * 60_000)
guard.unref()

main().then(async (code) => {
  await closeAll()
  process.exitCode = code
}, async (err: unknown) => {
  progress(`failed: ${(err as Error).stack ?? String(err)}`)
  await closeAll()
  process.exitCode = 1
})
