// The Fastify application factory: TLS, security headers, shared rate limit, auth,
// error envelope and routes. It knows nothing about processes; src/http/worker.ts runs it.
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type Redis from 'ioredis'
import type { Logger } from 'pino'
import type { TLSSocket, TlsOptions } from 'node:tls'
import type { Config } from '../config/settings'
import type { Keys } from '../state/keys'
import { makeAuthHook, clientKey, peerInfo } from './auth'
import { installErrorHandling } from './error-handler'
import { securityHeaders } from './security-headers'
import { healthRoutes } from './routes/health'
import { statusRoutes, type StatusDeps } from './routes/status'
import { workersRoutes } from './routes/workers'
import { robotsRoutes } from './routes/robots'
import { executionsRoutes } from './routes/executions'
import { logsRoutes } from './routes/logs'
import { artifactsRoutes } from './routes/artifacts'
import { ExecutionStore } from '../state/executions'
import swagger from '@fastify/swagger'
import { metricsRoutes } from './routes/metrics'
import { openapiRoutes, OPENAPI_OPTIONS } from './routes/openapi'
import { httpDuration, httpRequests } from '../metrics/worker-metrics'
import type { MachineView } from '../ipc'
import { rrError } from '../errors'

export interface AppDeps {
  config: Config
  keys: Keys
  redis: Redis
  logger: Logger
  accessLog: Logger
  tls?: TlsOptions
  view: () => MachineView
  certificate?: StatusDeps['certificate']
}

export async function buildApp (deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps
  const app = Fastify({
    ...(deps.tls !== undefined ? { https: deps.tls } : {}),
    loggerInstance: deps.logger,
    // Requests go to the access log (onResponse below), not to the app log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.body_limit_bytes,
    keepAliveTimeout: config.keepalive_s * 1000,
    // A closing worker answers normally (with Connection: close), never 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    trustProxy: false,
    // No coercion: a "5" where an integer belongs is a 400, not silently accepted.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true } }
  }) as unknown as FastifyInstance

  installErrorHandling(app)
  // Collects every route's schema as it is added; served at /api/openapi.json.
  await app.register(swagger, OPENAPI_OPTIONS)
  securityHeaders(app)
  await app.register(rateLimit, {
    global: true,
    max: config.rate_limit.max,
    timeWindow: config.rate_limit.time_window_ms,
    redis: deps.redis,
    nameSpace: deps.keys.rateLimitNamespace,
    keyGenerator: clientKey,
    // Redis down must not turn every request into a 500; /ready reports it.
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) => rrError('RR_RATE_LIMITED', `Rate limit exceeded: ${ctx.max} requests per ${ctx.after}`)
  })

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) })
    httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000)
    const socket = req.raw.socket as TLSSocket
    deps.accessLog.info({
      method: req.method,
      url: req.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      remote: req.ip,
      client_cert: peerInfo(socket).cn
    })
  })

  const store = new ExecutionStore(deps.redis, {
    keys: deps.keys,
    cap: config.max_concurrent_executions,
    notify: config.notify_url !== undefined && config.notify_on_status_change,
    token: config.token,
    machineId: config.machine_id
  })
  healthRoutes(app, deps)
  const authenticate = makeAuthHook(config.token, config.ssl_enabled)
  await app.register(async (api) => {
    api.addHook('onRequest', authenticate)
    statusRoutes(api, { machineId: config.machine_id, capacity: config.max_concurrent_executions, view: deps.view, certificate: deps.certificate, counts: () => store.counts() })
    workersRoutes(api, deps)
    robotsRoutes(api, { robotsDir: config.robots_dir })
    executionsRoutes(api, { config, store })
    logsRoutes(api, { config, keys: deps.keys, redis: deps.redis, store })
    artifactsRoutes(api, { config, store })
    openapiRoutes(api, app)
  }, { prefix: '/api' })
  await app.register(async (root) => {
    root.addHook('onRequest', authenticate)
    metricsRoutes(root, { redis: deps.redis, keys: deps.keys, certificateDaysLeft: deps.certificate?.days_left })
  })
  return app
}
