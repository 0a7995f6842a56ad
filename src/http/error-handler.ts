// Maps every error to the JSON envelope {"error": {"code", "message", "details"?}}.
import type { FastifyError, FastifyInstance } from 'fastify'
import { RrError, rrError, type ErrorCode } from '../errors'

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'RR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'RR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'RR_BAD_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'RR_BAD_JSON'
}

export function toRrError (err: FastifyError): RrError {
  if (err instanceof RrError) return err
  if (err.validation !== undefined) {
    const first = err.validation[0]
    const field = fieldOf(err.validationContext ?? 'body', first.instancePath, first.params as Record<string, unknown>)
    return rrError('RR_VALIDATION', `${field}: ${first.message ?? 'invalid'}`, {
      field,
      errors: err.validation.map((v) => ({ field: fieldOf(err.validationContext ?? 'body', v.instancePath, v.params as Record<string, unknown>), message: v.message }))
    })
  }
  const mapped = err.code !== undefined ? FASTIFY_CODES[err.code] : undefined
  if (mapped !== undefined) return rrError(mapped)
  if (err.statusCode === 429) return rrError('RR_RATE_LIMITED', err.message)
  if (err instanceof SyntaxError) return rrError('RR_BAD_JSON')
  if (isRedisDown(err)) return rrError('RR_REDIS_UNAVAILABLE')
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new StatusError(err.statusCode, err.message)
  return rrError('RR_INTERNAL')
}

/** A client error fastify raised that has no code of its own (bad Content-Length and the like). */
class StatusError extends RrError {
  override readonly statusCode: number
  constructor (status: number, message: string) {
    super('RR_BAD_REQUEST', message)
    this.statusCode = status
  }
}

/** ioredis errors when Redis is unreachable (commands fail after maxRetriesPerRequest). */
function isRedisDown (err: Error): boolean {
  return err.name === 'MaxRetriesPerRequestError' || /ECONNREFUSED|Connection is closed|Stream isn't writeable|ENOENT.*sock/.test(err.message)
}

function fieldOf (context: string, instancePath: string, params: Record<string, unknown>): string {
  const parts = instancePath.split('/').slice(1)
  for (const k of ['additionalProperty', 'missingProperty']) if (typeof params[k] === 'string') parts.push(params[k] as string)
  return [context, ...parts].join('.')
}

export function installErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const rr = toRrError(err)
    if (rr.statusCode >= 500) req.log.error({ err }, 'request failed')
    if (rr.code === 'RR_RATE_LIMITED') reply.header('retry-after', reply.getHeader('retry-after') ?? '60')
    return reply.code(rr.statusCode).send({ error: { code: rr.code, message: rr.message, ...(rr.details !== undefined ? { details: rr.details } : {}) } })
  })
  app.setNotFoundHandler((req, reply) => {
    return reply.code(404).send({ error: { code: 'RR_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}` } })
  })
}
