// Runs one claimed execution: spawns the robot's argv (no shell) in its own process group
// with cwd = its folder and the contract's environment, logs its output, enforces the
// timeout, obeys cancel, reads the output to the end, then writes the final status.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import type Redis from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config/settings'
import type { Keys } from '../state/keys'
import type { ExecutionRecord, ExecutionStatus, ExecutionStore } from '../state/executions'
import { loadRobot } from './catalogue'
import { EXECUTION_MARKER, executionAlive, signalExecution } from './kill'
import { LogWriter } from './log-writer'
import { readRfResult } from './rf-result'
import { dispatchLatency, executionsFinished, executionsStarted } from '../metrics/worker-metrics'

export type StopReason = 'cancelled' | 'timed_out' | 'shutdown'

export interface ExecutorDeps {
  config: Config
  keys: Keys
  redis: Redis
  store: ExecutionStore
  logger: Logger
  /** tells the supervisor about the robot's process group (it kills it if we die) */
  report: (event: 'started' | 'ended', executionId: string, pgid: number) => void
}

const CLOSE_WAIT_MS = 2000
const PIPE_GRACE_MS = 50

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const KILL_POLL_MS = 100

export function executionDir (config: Config, id: string): string {
  return path.join(config.data_dir, 'executions', id)
}

export class Execution {
  private child: ChildProcess | undefined
  private stopReason: StopReason | undefined
  private killTimer: NodeJS.Timeout | undefined
  private log: LogWriter | undefined
  readonly done: Promise<void>

  constructor (private readonly deps: ExecutorDeps, readonly record: ExecutionRecord, private readonly secrets: Record<string, string>) {
    this.done = this.run().catch(async (err: unknown) => {
      // A runner-side failure (disk full, unreadable robot folder) must still end the record.
      deps.logger.error({ err, execution_id: record.id }, 'execution failed unexpectedly')
      if (this.child?.pid !== undefined) signalExecution(this.id, this.child.pid, 'SIGKILL')
      await this.end('failed', { error: `runner error: ${err instanceof Error ? err.message : String(err)}` }).catch(() => {})
    })
  }

  get id (): string { return this.record.id }

  /** One SIGTERM to the group (and marked stragglers), SIGKILL after grace. */
  stop (reason: StopReason, graceS = this.deps.config.cancel_grace_s): void {
    if (this.stopReason !== undefined) return
    this.stopReason = reason
    const child = this.child
    if (child === undefined || child.pid === undefined) return // not spawned yet: run() checks stopReason
    this.log?.note(`${reason === 'timed_out' ? `timeout (${this.record.timeout_s} s)` : reason}: SIGTERM to process group ${child.pid}`)
    signalExecution(this.id, child.pid, 'SIGTERM')
    this.killTimer = setTimeout(() => this.killAll(child.pid!), graceS * 1000)
  }

  private killAll (pgid: number): void {
    if (!executionAlive(this.id, pgid)) return
    this.log?.note(`grace over: SIGKILL to process group ${pgid}`)
    signalExecution(this.id, pgid, 'SIGKILL')
    // Stragglers found by marker may appear a moment later (a fork in flight): sweep a few times.
    let sweeps = 0
    const sweep = setInterval(() => {
      if (++sweeps > 10 || !executionAlive(this.id, pgid)) { clearInterval(sweep); return }
      signalExecution(this.id, pgid, 'SIGKILL')
    }, KILL_POLL_MS)
  }

  private async run (): Promise<void> {
    const { config, store, keys, redis } = this.deps
    const robot = loadRobot(config.robots_dir, this.record.robot)
    if (robot === undefined || !robot.valid) {
      await this.end('failed', { error: robot === undefined ? 'robot not found' : `invalid robot manifest: ${robot.error}` })
      return
    }
    const dir = executionDir(config, this.id)
    const artifacts = path.join(dir, 'artifacts')
    const paramsFile = path.join(dir, 'params.json')
    // A retry starts with a fresh artifacts folder; a first attempt has none to remove.
    if (this.record.attempt > 1) await fs.rm(artifacts, { recursive: true, force: true })
    await fs.mkdir(artifacts, { recursive: true })
    const log = new LogWriter(path.join(dir, 'output.log'), redis, keys.log(this.id), config.max_log_bytes, Object.values(this.secrets), (pause) => {
      if (pause) { this.child?.stdout?.pause(); this.child?.stderr?.pause() } else { this.child?.stdout?.resume(); this.child?.stderr?.resume() }
    })
    this.log = log
    // Independent file work in parallel: each costs a thread-pool round trip and a disk write.
    await Promise.all([fs.writeFile(paramsFile, JSON.stringify(this.record.params), { mode: 0o600 }), log.open()])
    log.note(`attempt ${this.record.attempt}: ${robot.manifest.command.join(' ')}`)

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...robot.manifest.env,
      [EXECUTION_MARKER]: this.id,
      RR_PARAMS: JSON.stringify(this.record.params),
      RR_PARAMS_FILE: paramsFile,
      RR_ARTIFACTS_DIR: artifacts
    }
    for (const [name, value] of Object.entries(this.secrets)) env[`RR_SECRET_${name.toUpperCase()}`] = value

    const [cmd, ...args] = robot.manifest.command
    if (this.stopReason !== undefined) { // cancelled between claim and spawn
      await log.end()
      await this.finishAs(this.stopReason === 'timed_out' ? 'timed_out' : 'cancelled', {})
      return
    }
    const child = spawn(cmd, args, { cwd: robot.dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
    const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
    child.stdout!.on('data', (c: Buffer) => log.write('out', c))
    child.stderr!.on('data', (c: Buffer) => log.write('err', c))

    if (child.pid === undefined) {
      const err = await spawnError
      log.note(`cannot start: ${err.message}`)
      await log.end()
      await this.end('failed', { error: `cannot start ${cmd}: ${(err as NodeJS.ErrnoException).code ?? err.message}` })
      return
    }
    const pgid = child.pid
    this.deps.report('started', this.id, pgid)
    // started_at becomes the spawn time (the claim set it a few ms earlier).
    const spawnedAt = new Date()
    executionsStarted.inc({ robot: this.record.robot })
    dispatchLatency.observe(Math.max(0, spawnedAt.getTime() - Date.parse(this.record.created_at)) / 1000)
    await store.annotate(this.id, { pid: pgid, started_at: spawnedAt.toISOString() })
    const timeout = setTimeout(() => this.stop('timed_out'), this.record.timeout_s * 1000)
    // A cancel that arrived before we were listening is in the record.
    if (this.stopReason !== undefined) {
      const reason = this.stopReason
      this.stopReason = undefined
      this.stop(reason)
    } else if ((await store.get(this.id))?.cancel_requested_at != null) {
      this.stop('cancelled')
    }

    const { code, signal } = await exited
    clearTimeout(timeout)
    clearTimeout(this.killTimer)
    // The robot is done: what it left in its group is an orphan. Killing the group is cheap;
    // the /proc scan for escaped processes (by marker) runs here only if something still
    // holds the pipes, and otherwise after the final status, off the dispatch path.
    try { process.kill(-pgid, 'SIGKILL') } catch { /* group already empty */ }
    if (!await Promise.race([closed.then(() => true), delay(PIPE_GRACE_MS).then(() => false)])) {
      signalExecution(this.id, pgid, 'SIGKILL')
      // Read the output to the end before the final status (bounded: a pipe inherited by
      // something we could not kill must not hold the status forever).
      await Promise.race([closed, delay(CLOSE_WAIT_MS)])
    }
    child.stdout!.destroy()
    child.stderr!.destroy()
    log.note(signal !== null ? `ended by ${signal}` : `exit code ${String(code)}`)
    await log.end()
    this.deps.report('ended', this.id, pgid)

    const result = await readRfResult(artifacts)
    const fields: Partial<ExecutionRecord> = { exit_code: signal === null ? code : null, signal, ...(result !== undefined ? { result } : {}) }
    if (this.stopReason !== undefined) {
      await this.finishAs(this.stopReason === 'timed_out' ? 'timed_out' : 'cancelled', fields)
    } else {
      await this.end(code === 0 ? 'succeeded' : 'failed', fields)
    }
    setImmediate(() => signalExecution(this.id, undefined, 'SIGKILL'))
  }

  private async finishAs (status: ExecutionStatus, fields: Partial<ExecutionRecord>): Promise<void> {
    const error = this.stopReason === 'shutdown' ? 'shutdown' : this.stopReason === 'timed_out' ? `timed out after ${this.record.timeout_s} s` : 'cancelled by request'
    await this.end(status, { ...fields, error })
  }

  private async end (status: ExecutionStatus, fields: Partial<ExecutionRecord>): Promise<void> {
    const done = await this.deps.store.finish(this.id, status, fields)
    if (done !== undefined) executionsFinished.inc({ robot: this.record.robot, status })
  }
}
