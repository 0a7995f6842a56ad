// Writes robots into a runner's robots_dir and waits for executions to reach a status.
import fs from 'node:fs'
import path from 'node:path'
import type { Runner } from './runner'
import { waitFor } from './tmp'

/** robots_dir/<name>/robot.json (+ optional files, e.g. a script). */
export function addRobot (runner: Runner, name: string, manifest: Record<string, unknown>, files: Record<string, string> = {}): string {
  const dir = path.join(String(runner.config.robots_dir), name)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'robot.json'), JSON.stringify(manifest))
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text, { mode: 0o755 })
  return dir
}

/** A robot running `sh -c SCRIPT` (the script sees RR_* variables). */
export function shRobot (runner: Runner, name: string, script: string, extra: Record<string, unknown> = {}): string {
  return addRobot(runner, name, { command: ['/bin/sh', '-c', script], ...extra })
}

export async function startExecution (runner: Runner, body: Record<string, unknown>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await runner.request({ path: '/api/executions', body })
  if (res.status !== 202 && res.status !== 200) throw new Error(`POST /api/executions: ${res.status} ${res.body}`)
  return res.json()
}

export async function waitStatus (runner: Runner, id: string, statuses: string | string[], timeoutMs = 20_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const want = Array.isArray(statuses) ? statuses : [statuses]
  let last: unknown
  try {
    return await waitFor(`execution ${id} to be ${want.join('/')}`, async () => {
      const res = await runner.request({ path: `/api/executions/${encodeURIComponent(id)}` })
      last = res.body
      const rec = res.json()
      return want.includes(rec.status) ? rec : undefined
    }, timeoutMs, 50)
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${String(last)}`)
  }
}
