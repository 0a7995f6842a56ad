// The benchmark suite cannot rot: `scripts/bench/run --quick` runs every measurement
// (short), prints one JSON line with numbers for each, and leaves no process behind.
// Speed is never asserted here (STYLE.md): only that each measurement produced numbers.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import t from 'tap'
import { pidsWithEnv } from './helpers/procs'

const ROOT = path.resolve(__dirname, '..')
const NAMES = ['throughput', 'dispatch', 'burst', 'availability', 'memory', 'logs']

/** Every number in a JSON value (nested objects and arrays included). */
function numbers (v: unknown): number[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [v] : []
  if (Array.isArray(v)) return v.flatMap(numbers)
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(numbers)
  return []
}

t.setTimeout(900_000)

t.test('scripts/bench/run --quick: a JSON line with numbers per measurement', async (t) => {
  // Every process the suite starts inherits this marker: none may carry it afterwards.
  const marker = randomBytes(8).toString('hex')
  const child = spawn(path.join(ROOT, 'scripts', 'bench', 'run'), ['--quick'], {
    cwd: ROOT,
    // dist/ is built by scripts/test (as for every test that starts a runner).
    env: { ...process.env, BENCH_SKIP_SETUP: '1', BENCH_RUN_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGTERM'), 800_000)
    child.once('exit', (c) => { clearTimeout(timer); resolve(c) })
  })
  t.equal(code, 0, 'the suite exits 0')
  if (code !== 0) t.comment(err.slice(-4000))

  const lines = out.split('\n').filter((l) => l.startsWith('{"bench":')).map((l) => JSON.parse(l) as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
  t.same(lines.map((l) => l.bench).sort(), [...NAMES].sort(), 'one JSON line per measurement')
  for (const l of lines) {
    t.equal(l.error, undefined, `${l.bench}: no error`)
    t.ok(l.ratio === null || typeof l.ratio === 'number', `${l.bench}: ratio is a number or null`)
    t.ok(numbers(l.runner).length > 0, `${l.bench}: runner numbers`)
    t.ok(Array.isArray(l.targets) && l.targets.length > 0 && l.targets.every((x: { value: unknown, met: unknown }) => typeof x.value === 'number' && typeof x.met === 'boolean'), `${l.bench}: targets with values`)
  }
  for (let n = 1; n <= NAMES.length; n++) t.match(out, new RegExp(`^\\| ${n} \\| .*\\|$`, 'm'), `table row ${n}`)
  t.match(out, /^machine: \d+ cpus/m, 'the machine it ran on')

  const left = pidsWithEnv('BENCH_RUN_MARKER', marker)
  t.same(left, [], 'no process of the suite is left')
  for (const pid of left) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
})
