// Security headers (helmet's defaults: HSTS, CSP, X-Content-Type-Options, ...) computed once
// at start and set on every response. @fastify/helmet builds a new helmet middleware on
// every request; measured with scripts/bench/run --experiment http-stack, that was ~8% of
// an HTTP worker's CPU per request. The headers do not depend on the request, so helmet
// runs once here against a stub response and we keep what it set.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import helmet from 'helmet'

export function helmetHeaders (): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader: (name: string, value: string | number | string[]) => { headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value) },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()] }
  }
  let failed: unknown
  helmet()({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => { failed = err })
  if (failed !== undefined) throw failed
  return Object.freeze(headers)
}

export function securityHeaders (app: FastifyInstance): void {
  const headers = helmetHeaders()
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers)
    done()
  })
}
