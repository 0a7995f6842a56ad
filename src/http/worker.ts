// Entry point of an HTTP worker process (forked by the supervisor).
import type { AddressInfo } from 'node:net'
import { runWorker, type WorkerContext, type WorkerHandle } from '../worker-runtime'
import { fileLogger } from '../log'
import { connectRedis } from '../state/redis'
import { makeKeys } from '../state/keys'
import { buildApp } from './app'
import { loadTls } from './tls'

async function start (ctx: WorkerContext): Promise<WorkerHandle> {
  const { config } = ctx
  const keys = makeKeys(config.machine_id)
  const redis = connectRedis(config, `rr-http-${ctx.slot}`)
  const access = fileLogger(config.access_log, 'info', ctx.secrets, { slot: ctx.slot })
  const tls = config.ssl_enabled ? loadTls(config) : undefined
  const app = await buildApp({
    config,
    keys,
    redis,
    logger: ctx.logger,
    accessLog: access.logger,
    tls: tls?.options,
    certificate: tls?.certificate,
    view: ctx.view
  })
  await app.listen({ host: config.host, port: config.port, backlog: config.backlog })
  const address = app.server.address() as AddressInfo
  ctx.logger.info({ address }, 'http worker listening')
  return {
    address: `${address.address}:${address.port}`,
    reopenLogs: access.reopen,
    stop: async (fast) => {
      if (!fast) {
        const timer = setTimeout(() => app.server.closeAllConnections(), config.graceful_timeout_s * 1000)
        await app.close()
        clearTimeout(timer)
      } else {
        app.server.closeAllConnections()
        await app.close().catch(() => {})
      }
      redis.disconnect()
      access.flush()
    }
  }
}

runWorker('http', start)
