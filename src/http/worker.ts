// Entry point of an HTTP worker process (forked by the supervisor).
import type { AddressInfo } from 'node:net'
import { runWorker, type WorkerContext, type WorkerHandle } from '../worker-runtime'
import { fileLogger } from '../log'
import { connectRedis } from '../state/redis'
import { makeKeys } from '../state/keys'
import { buildApp } from './app'
import { loadTls } from './tls'
import { makeDrainer } from './drain'
import { probeSelf } from './self-probe'

const HANDOFF_GRACE_MS = 1000

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
  const drainer = makeDrainer(app)
  await app.listen({ host: config.host, port: config.port, backlog: config.backlog })
  const address = app.server.address() as AddressInfo
  // Ready means answering, not merely listening: the supervisor retires an old worker on it.
  const probeMs = await probeSelf(app, tls?.options)
  ctx.logger.info({ address, probe_ms: probeMs }, 'http worker listening and answering')
  return {
    address: `${address.address}:${address.port}`,
    probeMs,
    reopenLogs: access.reopen,
    stop: async (fast) => {
      await (fast ? drainer.abort() : drainer.drain(config.graceful_timeout_s * 1000))
      redis.disconnect()
      access.flush()
      // The cluster primary may have handed us a connection just before it read our 'close':
      // stay on the IPC channel a moment so Node's cluster answers it 'not accepted' and the
      // primary gives it to another worker. Exiting at once loses that handoff, and its
      // client waits for a TLS handshake that never comes.
      if (!fast) await new Promise((resolve) => setTimeout(resolve, HANDOFF_GRACE_MS))
    }
  }
}

runWorker('http', start)
