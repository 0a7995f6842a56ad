// How a measurement is printed: one table row (markdown) and one JSON line
// ({"bench": name, ...}), the runner's numbers beside the reference's and their ratio.
import os from 'node:os'

export interface Target {
  what: string
  /** e.g. '>= 0.6', '<= 5 ms' */
  target: string
  value: number
  met: boolean
}

export interface Measurement {
  /** 1..6, the numbering */
  n: number
  name: string
  title: string
  /** one-line summaries for the table */
  runnerText: string
  referenceText: string
  /** runner speed as a fraction of the reference's (1 = at the limit); null where none applies */
  ratio: number | null
  targets: Target[]
  /** every number measured (flat, for the JSON line) */
  runner: Record<string, unknown>
  reference: Record<string, unknown>
  notes: string[]
  error?: string
}

export const HEADER = '| # | measurement | runner | reference (same run) | ratio | targets |\n|---|---|---|---|---|---|'

export function row (m: Measurement): string {
  const targets = m.error !== undefined
    ? `ERROR: ${m.error}`
    : m.targets.map((t) => `${t.what} ${t.target}: ${fmt(t.value)} ${t.met ? 'met' : '**not met**'}`).join('; ')
  return `| ${m.n} | ${m.title} | ${m.runnerText} | ${m.referenceText} | ${m.ratio === null ? '-' : m.ratio.toFixed(2)} | ${targets} |`
}

export function jsonLine (m: Measurement): string {
  return JSON.stringify({ bench: m.name, n: m.n, ratio: m.ratio, targets: m.targets, runner: m.runner, reference: m.reference, notes: m.notes, ...(m.error !== undefined ? { error: m.error } : {}) })
}

export function fmt (n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 100) return n.toFixed(0)
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

export interface Machine { nproc: number, memoryGB: number, cpu: string, node: string, date: string, loadavg: number[], kernel: string }

export function machine (): Machine {
  return {
    nproc: os.availableParallelism(),
    memoryGB: Math.round(os.totalmem() / 1024 ** 3 * 10) / 10,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    kernel: os.release()
  }
}
