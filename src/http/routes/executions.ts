// POST/GET /api/executions, GET /api/executions/:id, POST /api/executions/:id/cancel.
import { createHmac, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/settings'
import { rrError } from '../../errors'
import { ROBOT_NAME, loadRobot } from '../../queue/catalogue'
import type { ExecutionRecord, ExecutionStore } from '../../state/executions'

export const EXECUTION_ID = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'
const MAX_PARAMS_BYTES = 64 * 1024
const MAX_PARAMS_DEPTH = 32
const MAX_TIMEOUT_S = 7 * 24 * 3600
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'lost']

export interface StartBody {
  robot: string
  params?: Record<string, unknown>
  execution_id?: string
  timeout_s?: number
  priority?: 'high' | 'normal'
  retries?: number
  secrets?: Record<string, string>
}

const startSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['robot'],
    properties: {
      robot: { type: 'string', pattern: ROBOT_NAME.source },
      params: { type: 'object' },
      execution_id: { type: 'string', pattern: EXECUTION_ID },
      timeout_s: { type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_S },
      priority: { type: 'string', enum: ['high', 'normal'] },
      retries: { type: 'integer', minimum: 0, maximum: 10 },
      secrets: {
        type: 'object',
        maxProperties: 64,
        propertyNames: { pattern: '^[A-Za-z0-9_]{1,64}$' },
        additionalProperties: { type: 'string', maxLength: 65536 }
      }
    }
  }
}

const idParams = { type: 'object', properties: { id: { type: 'string', pattern: EXECUTION_ID } }, required: ['id'] }

const listSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      status: { type: 'string', enum: STATUSES },
      robot: { type: 'string', pattern: ROBOT_NAME.source },
      limit: { type: 'string', pattern: '^([1-9][0-9]{0,1}|[1-4][0-9]{2}|500)$' },
      cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,400}$' }
    }
  }
}

/** True when value nests deeper than max (iterative: a 5000-deep body must not blow the stack). */
export function depthOver (value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth > max) return true
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

/** JSON with object keys sorted at every level: the same body always hashes the same. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}

export function executionsRoutes (app: FastifyInstance, deps: { config: Config, store: ExecutionStore }): void {
  const { config, store } = deps

  app.post<{ Body: StartBody }>('/executions', { schema: startSchema }, async (req, reply) => {
    const body = req.body
    if (body.params !== undefined && depthOver(body.params, MAX_PARAMS_DEPTH)) {
      throw rrError('RR_VALIDATION', `body.params: nested deeper than ${MAX_PARAMS_DEPTH} levels`, { field: 'body.params' })
    }
    if (body.params !== undefined && Buffer.byteLength(JSON.stringify(body.params)) > MAX_PARAMS_BYTES) {
      throw rrError('RR_VALIDATION', `body.params: must be at most ${MAX_PARAMS_BYTES} bytes of JSON`, { field: 'body.params' })
    }
    const robot = loadRobot(config.robots_dir, body.robot)
    if (robot === undefined) throw rrError('RR_ROBOT_NOT_FOUND', `No robot "${body.robot}" in robots_dir`)
    if (!robot.valid) throw rrError('RR_ROBOT_INVALID', `Robot "${body.robot}": ${robot.error}`)

    const record: ExecutionRecord = {
      id: body.execution_id ?? randomUUID(),
      robot: body.robot,
      status: 'queued',
      params: body.params ?? {},
      priority: body.priority ?? 'normal',
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      exit_code: null,
      signal: null,
      error: null,
      timeout_s: body.timeout_s ?? robot.manifest.timeout_s ?? config.execution_timeout_s,
      attempt: 1,
      retries: body.retries ?? 0,
      worker_pid: null,
      pid: null,
      cancel_requested_at: null,
      machine_id: config.machine_id
    }
    // Keyed with the token: the stored hash covers the secrets too, and must not let someone
    // who can read Redis test guesses of a weak secret offline.
    const hash = createHmac('sha256', config.token).update(canonicalJson(body)).digest('hex')
    const created = await store.create(record, hash, body.secrets)
    if (created.outcome === 'conflict') throw rrError('RR_EXECUTION_CONFLICT', `execution_id "${record.id}" was used with a different body`)
    return reply.code(created.outcome === 'created' ? 202 : 200).send(created.record)
  })

  app.get<{ Querystring: { status?: string, robot?: string, limit?: string, cursor?: string } }>('/executions', { schema: listSchema }, async (req) => {
    const q = req.query
    return await store.list({ status: q.status, robot: q.robot, limit: Number(q.limit ?? 50), cursor: q.cursor })
  })

  app.get<{ Params: { id: string } }>('/executions/:id', { schema: { params: idParams } }, async (req) => {
    const record = await store.get(req.params.id)
    if (record === undefined) throw rrError('RR_EXECUTION_NOT_FOUND')
    return record
  })

  app.post<{ Params: { id: string } }>('/executions/:id/cancel', { schema: { params: idParams } }, async (req, reply) => {
    const res = await store.cancel(req.params.id, 'cancelled by request')
    switch (res.outcome) {
      case 'missing': throw rrError('RR_EXECUTION_NOT_FOUND')
      case 'finished': throw rrError('RR_EXECUTION_FINISHED', `Execution ${req.params.id} already ended: ${res.record.status}`)
      case 'cancelled': return reply.code(200).send(res.record)
      case 'requested': return reply.code(202).send(res.record)
    }
  })
}
