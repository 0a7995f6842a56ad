// GET /api/executions/:id/logs: the log so far as text/plain, or with ?follow=1 /
// Accept: text/event-stream a live SSE stream read from the execution's Redis Stream:
// one event per stream entry (id: = stream id), resumable with Last-Event-ID, ending with
// `event: end` carrying the final status. The client's pace drives the reads (we wait for
// 'drain' before reading more), so a slow client costs a bounded buffer, not memory growth.
import fs from 'node:fs'
import path from 'node:path'
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type Redis from 'ioredis'
import type { Config } from '../../config/settings'
import type { Keys } from '../../state/keys'
import { FINAL_STATUSES, type ExecutionStore } from '../../state/executions'
import { rrError } from '../../errors'
import { EXECUTION_ID } from './executions'

const READ_COUNT = 100
const BLOCK_MS = 1000
const KEEPALIVE_MS = 15_000
const STREAM_ID = /^\d{1,20}-\d{1,20}$/

interface Deps { config: Config, keys: Keys, redis: Redis, store: ExecutionStore }

export function logsRoutes (app: FastifyInstance, deps: Deps): void {
  app.get<{ Params: { id: string }, Querystring: { follow?: string } }>('/executions/:id/logs', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', pattern: EXECUTION_ID } }, required: ['id'] },
      querystring: { type: 'object', additionalProperties: false, properties: { follow: { type: 'string', enum: ['0', '1', 'true', 'false'] } } }
    }
  }, async (req, reply) => {
    const { id } = req.params
    const record = await deps.store.get(id)
    if (record === undefined) throw rrError('RR_EXECUTION_NOT_FOUND')
    const follow = req.query.follow === '1' || req.query.follow === 'true' || (req.headers.accept ?? '').includes('text/event-stream')
    if (!follow) {
      const file = path.join(deps.config.data_dir, 'executions', id, 'output.log')
      reply.type('text/plain; charset=utf-8')
      return fs.existsSync(file) ? reply.send(fs.createReadStream(file)) : reply.send('')
    }
    const header = req.headers['last-event-id']
    const lastId = typeof header === 'string' && STREAM_ID.test(header) ? header : '0-0'
    await streamSse(reply, deps, id, lastId)
  })
}

async function streamSse (reply: FastifyReply, deps: Deps, id: string, from: string): Promise<void> {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders), // helmet's headers
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no'
  })
  // XREAD BLOCK holds its connection: one short-lived connection per follower.
  const conn = deps.redis.duplicate()
  conn.on('error', () => {})
  let closed = false
  res.on('close', () => { closed = true; conn.disconnect() })
  let last = from
  let lastWrite = Date.now()
  try {
    while (!closed) {
      const record = await deps.store.get(id)
      const final = record === undefined || FINAL_STATUSES.has(record.status)
      const args: Array<string | number> = ['COUNT', READ_COUNT]
      if (!final) args.push('BLOCK', BLOCK_MS)
      const result = await (conn.xread as (...a: Array<string | number>) => Promise<Array<[string, Array<[string, string[]]>]> | null>)(...args, 'STREAMS', deps.keys.log(id), last)
      const entries = result?.[0]?.[1] ?? []
      for (const [sid, fields] of entries) {
        const text = fields[1] ?? ''
        // SSE ends a line at \r too: a robot printing \r (progress bars, or forged frames) must
        // not break out of its data lines.
        const event = `id: ${sid}\n${text.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join('\n')}\n\n`
        last = sid
        if (!res.write(event)) await drained(res)
        lastWrite = Date.now()
        if (closed) break
      }
      if (entries.length === 0 && final) {
        res.write(`event: end\ndata: ${JSON.stringify({ status: record?.status ?? 'unknown', exit_code: record?.exit_code ?? null, signal: record?.signal ?? null })}\n\n`)
        break
      }
      if (entries.length === 0 && Date.now() - lastWrite >= KEEPALIVE_MS) {
        res.write(': keep-alive\n\n')
        lastWrite = Date.now()
      }
    }
  } catch (err) {
    if (!closed) reply.log.warn({ err, execution_id: id }, 'log follow failed')
  } finally {
    conn.disconnect()
    res.end()
  }
}

function drained (res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.once('drain', done)
    res.once('close', done)
  })
}
