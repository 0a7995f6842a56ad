// Execution records in Redis: one hash per execution (flat string fields), changed only
// through the Lua scripts in ./scripts (atomic with the outbox and machine status).
import type Redis from 'ioredis'
import type { Keys } from './keys'
import { CANCEL, CLAIM, CREATE, FINISH, MACHINE } from './scripts'
import { rrError } from '../errors'
import { open, seal, secretKey } from './secret-box'

const EXECUTION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/

export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'lost'
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'lost'])

export interface ExecutionRecord {
  id: string
  robot: string
  status: ExecutionStatus
  params: Record<string, unknown>
  priority: 'high' | 'normal'
  created_at: string
  started_at: string | null
  finished_at: string | null
  exit_code: number | null
  signal: string | null
  error: string | null
  timeout_s: number
  attempt: number
  retries: number
  worker_pid: number | null
  pid: number | null
  cancel_requested_at: string | null
  machine_id: string
  result?: { pass: number, fail: number, skip: number }
}

const JSON_FIELDS = ['params', 'result'] as const

/** Turns the flat hash (as HGETALL or the scripts' JSON give it) into the API record. */
export function toRecord (h: Record<string, string>): ExecutionRecord {
  const str = (f: string): string | null => h[f] === undefined || h[f] === '' ? null : h[f]
  const int = (f: string): number | null => h[f] === undefined || h[f] === '' ? null : Number(h[f])
  // In the contract's field order, for readable responses.
  const r: Record<string, unknown> = {
    id: h.id,
    robot: h.robot,
    status: h.status,
    params: h.params !== undefined ? JSON.parse(h.params) : {},
    priority: h.priority,
    created_at: h.created_at,
    started_at: str('started_at'),
    finished_at: str('finished_at'),
    exit_code: int('exit_code'),
    signal: str('signal'),
    error: str('error'),
    timeout_s: int('timeout_s'),
    attempt: int('attempt'),
    retries: int('retries') ?? 0,
    worker_pid: int('worker_pid'),
    pid: int('pid'),
    cancel_requested_at: str('cancel_requested_at'),
    machine_id: h.machine_id
  }
  if (h.result !== undefined && h.result !== '') r.result = JSON.parse(h.result)
  return r as unknown as ExecutionRecord
}

/** Record fields as HSET arguments (null -> deleted is not needed: scripts only set). */
function toFields (fields: Partial<ExecutionRecord>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null) continue
    out.push(k, (JSON_FIELDS as readonly string[]).includes(k) ? JSON.stringify(v) : String(v))
  }
  return out
}

export interface StoreOptions {
  keys: Keys
  cap: number
  notify: boolean
  /** seals secrets at rest (with machine_id, derives the key) */
  token: string
  machineId: string
}

type ScriptRedis = Redis & Record<'rrCreate' | 'rrClaim' | 'rrFinish' | 'rrCancel' | 'rrMachine', (...args: string[]) => Promise<unknown>>

export type CreateResult = { outcome: 'created' | 'exists', record: ExecutionRecord } | { outcome: 'conflict' }
export type CancelResult = { outcome: 'cancelled' | 'requested' | 'finished', record: ExecutionRecord } | { outcome: 'missing' }

export class ExecutionStore {
  private readonly redis: ScriptRedis
  private readonly keys: Keys
  private readonly secretKey: Buffer

  constructor (redis: Redis, private readonly opts: StoreOptions) {
    this.keys = opts.keys
    this.secretKey = secretKey(opts.token, opts.machineId)
    for (const [name, lua] of Object.entries({ rrCreate: CREATE, rrClaim: CLAIM, rrFinish: FINISH, rrCancel: CANCEL, rrMachine: MACHINE })) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 7, lua })
    }
    this.redis = redis as ScriptRedis
  }

  private common (id: string): string[] {
    const k = this.keys
    return [
      k.pending, k.running, k.index, k.outbox, k.machine, k.exec(id), k.secrets(id),
      new Date().toISOString(), this.opts.notify ? '1' : '0', String(this.opts.cap), k.execPrefix, k.secretsPrefix, k.wakeChannel
    ]
  }

  async create (record: ExecutionRecord, bodyHash: string, secrets: Record<string, string> | undefined): Promise<CreateResult> {
    const secretJson = secrets !== undefined && Object.keys(secrets).length > 0 ? seal(this.secretKey, JSON.stringify(secrets)) : ''
    const [outcome, json] = await this.redis.rrCreate(...this.common(record.id), record.id, bodyHash, secretJson, String(Date.parse(record.created_at)), ...toFields(record)) as [string, string?]
    if (outcome === 'conflict') return { outcome }
    return { outcome: outcome as 'created' | 'exists', record: toRecord(JSON.parse(json!)) }
  }

  async claim (workerPid: number): Promise<{ record: ExecutionRecord, secrets: Record<string, string> } | undefined> {
    const res = await this.redis.rrClaim(...this.common(''), String(workerPid)) as [string, string] | null
    if (res === null) return undefined
    return { record: toRecord(JSON.parse(res[0])), secrets: res[1] !== '' ? JSON.parse(open(this.secretKey, res[1])) : {} }
  }

  async finish (id: string, status: ExecutionStatus, fields: Partial<ExecutionRecord>, requeue = false): Promise<ExecutionRecord | undefined> {
    const [outcome, json] = await this.redis.rrFinish(...this.common(id), id, status, requeue ? '1' : '0', ...toFields(fields)) as [string, string?]
    return outcome === 'done' ? toRecord(JSON.parse(json!)) : undefined
  }

  async cancel (id: string, reason: string): Promise<CancelResult> {
    const [outcome, json] = await this.redis.rrCancel(...this.common(id), id, this.keys.cancelChannel, reason) as [string, string?]
    if (outcome === 'missing') return { outcome }
    return { outcome: outcome as 'cancelled' | 'requested' | 'finished', record: toRecord(JSON.parse(json!)) }
  }

  async setDraining (draining: boolean): Promise<void> {
    await this.redis.rrMachine(...this.common(''), draining ? '1' : '0')
  }

  /** Sets informational fields of a running execution (pid) without a status change. */
  async annotate (id: string, fields: Partial<ExecutionRecord>): Promise<void> {
    await this.redis.hset(this.keys.exec(id), ...toFields(fields))
  }

  async get (id: string): Promise<ExecutionRecord | undefined> {
    const h = await this.redis.hgetall(this.keys.exec(id))
    return h.id !== undefined ? toRecord(h) : undefined
  }

  async getMany (ids: string[]): Promise<ExecutionRecord[]> {
    if (ids.length === 0) return []
    const pipeline = this.redis.pipeline()
    for (const id of ids) pipeline.hgetall(this.keys.exec(id))
    const results = (await pipeline.exec()) ?? []
    return results.map(([, h]) => h as Record<string, string>).filter((h) => h.id !== undefined).map(toRecord)
  }

  async counts (): Promise<{ running: string[], queued: number }> {
    const [running, queued] = await Promise.all([this.redis.smembers(this.keys.running), this.redis.zcard(this.keys.pending)])
    return { running: running.sort(), queued }
  }

  async runningIds (): Promise<string[]> {
    return await this.redis.smembers(this.keys.running)
  }

  /**
   * Newest first. The cursor is the (created ms, id) of the last item returned, so pages
   * stay stable while new executions arrive.
   */
  async list (filter: { status?: string, robot?: string, limit: number, cursor?: string }): Promise<{ items: ExecutionRecord[], next_cursor: string | null }> {
    const items: ExecutionRecord[] = []
    let max = '+inf'
    let afterId: string | undefined
    if (filter.cursor !== undefined) {
      const [score, id] = Buffer.from(filter.cursor, 'base64url').toString().split('|')
      if (!/^\d{1,15}$/.test(score ?? '') || id === undefined || !EXECUTION_ID_RE.test(id)) {
        throw rrError('RR_VALIDATION', 'querystring.cursor: not a cursor this API returned', { field: 'querystring.cursor' })
      }
      max = score
      afterId = id
    }
    const batch = Math.max(filter.limit * 2, 50)
    let offset = 0
    while (items.length < filter.limit) {
      const page = await this.redis.zrevrangebyscore(this.keys.index, max, '-inf', 'WITHSCORES', 'LIMIT', offset, batch)
      if (page.length === 0) break
      offset += page.length / 2
      const ids: string[] = []
      const scores = new Map<string, string>()
      for (let i = 0; i < page.length; i += 2) {
        if (afterId !== undefined) {
          // skip up to and including the cursor's id among equal scores
          if (page[i + 1] === max && page[i] >= afterId) continue
        }
        ids.push(page[i])
        scores.set(page[i], page[i + 1])
      }
      for (const r of await this.getMany(ids)) {
        if (filter.status !== undefined && r.status !== filter.status) continue
        if (filter.robot !== undefined && r.robot !== filter.robot) continue
        items.push(r)
        if (items.length === filter.limit) break
      }
      if (page.length / 2 < batch) break
    }
    const last = items.at(-1)
    const more = last !== undefined && items.length === filter.limit
    return { items, next_cursor: more ? Buffer.from(`${Date.parse(last.created_at)}|${last.id}`).toString('base64url') : null }
  }

  /** Removes a finished execution's record, secrets and log stream. */
  async remove (id: string): Promise<void> {
    await this.redis.multi().del(this.keys.exec(id), this.keys.secrets(id), this.keys.log(id)).zrem(this.keys.index, id).exec()
  }
}
