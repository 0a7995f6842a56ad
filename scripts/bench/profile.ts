// Summarises the .cpuprofile files `--profile` makes the runner write (one per process,
// named CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile): per process, where the busy time
// went, by function (self time) and by package.
import fs from 'node:fs'
import path from 'node:path'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[], parent?: number }
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

/** Monotonic µs spans (process.hrtime, the clock V8 profiles use) when load ran: only those samples count. */
export const loadWindows: Array<{ start: number, end: number }> = []

/** Runs fn and records its span as a load window (for the profile summary). */
export async function underLoad<T> (fn: () => Promise<T>): Promise<T> {
  const start = Number(process.hrtime.bigint() / 1000n)
  try {
    return await fn()
  } finally {
    loadWindows.push({ start, end: Number(process.hrtime.bigint() / 1000n) })
  }
}

export interface ProcessProfile {
  file: string
  pid: number
  title: string
  wallMs: number
  busyMs: number
  top: Array<{ fn: string, ms: number, percent: number }>
  /** time with the function on the stack (each sample counted once per function) */
  inclusive: Array<{ fn: string, ms: number, percent: number }>
  byPackage: Array<{ pkg: string, ms: number, percent: number }>
}

const ROOT = path.resolve(__dirname, '..', '..')

function where (url: string): { file: string, pkg: string } {
  if (url === '') return { file: '', pkg: '(native/vm)' }
  let u = url.replace(/^file:\/\//, '')
  if (u.startsWith('node:')) return { file: u, pkg: 'node core' }
  const nm = u.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = u.slice(nm + '/node_modules/'.length).split('/')
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
    return { file: rest.join('/'), pkg }
  }
  if (u.startsWith(ROOT + '/')) u = u.slice(ROOT.length + 1)
  return { file: u, pkg: u.startsWith('dist/') ? 'robotrunner' : u }
}

function keyOf (n: Node): string {
  const name = n.callFrame.functionName
  return name.startsWith('(') ? name : `${name === '' ? '(anonymous)' : name} ${where(n.callFrame.url).file}:${n.callFrame.lineNumber + 1}`
}

export function summarise (file: string, title: string, topN = Number(process.env.BENCH_PROFILE_TOP ?? 25)): ProcessProfile {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  for (const n of p.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id
  const inWindow = (t: number): boolean => loadWindows.length === 0 || loadWindows.some((w) => t >= w.start && t <= w.end)
  const self = new Map<number, number>()
  const incl = new Map<string, number>()
  let t = p.startTime
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    t += dt
    if (!inWindow(t)) continue
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt)
    if (byId.get(p.samples[i])!.callFrame.functionName === '(idle)') continue
    const keys = new Set<string>()
    for (let n: Node | undefined = byId.get(p.samples[i]); n !== undefined; n = n.parent === undefined ? undefined : byId.get(n.parent)) keys.add(keyOf(n))
    for (const k of keys) incl.set(k, (incl.get(k) ?? 0) + dt)
  }
  const fns = new Map<string, number>()
  const pkgs = new Map<string, number>()
  let busy = 0
  let wall = 0
  for (const [id, us] of self) {
    const n = byId.get(id)!
    const name = n.callFrame.functionName
    wall += us
    if (name === '(idle)') continue
    busy += us
    const key = keyOf(n)
    fns.set(key, (fns.get(key) ?? 0) + us)
    const pkg = name.startsWith('(') ? name : where(n.callFrame.url).pkg
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us)
  }
  for (const k of ['(root)', '(program)', '(garbage collector)']) incl.delete(k)
  const rank = (m: Map<string, number>): Array<[string, number]> => [...m.entries()].sort((a, b) => b[1] - a[1])
  const pct = (us: number): number => Math.round(us / Math.max(1, busy) * 1000) / 10
  const pid = Number(path.basename(file).split('.')[3])
  return {
    file,
    pid,
    title,
    wallMs: Math.round(wall / 1000),
    busyMs: Math.round(busy / 1000),
    top: rank(fns).slice(0, topN).map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), percent: pct(us) })),
    inclusive: rank(incl).slice(0, topN).map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), percent: pct(us) })),
    byPackage: rank(pkgs).slice(0, 10).map(([pkg, us]) => ({ pkg, ms: Math.round(us / 1000), percent: pct(us) }))
  }
}

/** Every profile in dir, with the title of its pid (from seen), as printable text. */
export function profileReport (dir: string, seen: Map<number, string>): { text: string, profiles: ProcessProfile[] } {
  let files: string[]
  try { files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) } catch { return { text: `no profiles in ${dir}\n`, profiles: [] } }
  const profiles = files.map((f) => summarise(path.join(dir, f), seen.get(Number(f.split('.')[3])) ?? 'unknown process'))
  profiles.sort((a, b) => b.busyMs - a.busyMs)
  let text = ''
  // The busiest process of each kind in full; the others of the same kind in one line.
  const kind = (p: ProcessProfile): string => p.title.replace(/ \d+( \(old\))?$/, '')
  const shown = new Set<string>()
  const others = profiles.filter((p) => shown.has(kind(p)) || (shown.add(kind(p)), false))
  for (const p of profiles.filter((x) => !others.includes(x))) {
    text += `\n  ${p.title} (pid ${p.pid}): busy ${p.busyMs} ms of ${p.wallMs} ms profiled${loadWindows.length > 0 ? ' under load' : ''}\n`
    text += `    by package (self): ${p.byPackage.map((x) => `${x.pkg} ${x.percent}%`).join(', ')}\n`
    text += '    self time:\n'
    for (const f of p.top) text += `    ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.fn}\n`
    text += '    on the stack (inclusive):\n'
    for (const f of p.inclusive) text += `    ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(6)} ms  ${f.fn}\n`
  }
  if (others.length > 0) text += `\n  also: ${others.map((p) => `${p.title} (pid ${p.pid}) busy ${p.busyMs} ms`).join('; ')}\n`
  return { text, profiles }
}
