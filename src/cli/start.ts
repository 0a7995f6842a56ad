// `robotrunner start`: pidfile, embedded Redis when none is configured, then the supervisor loop.
import { loadConfig, ConfigError, EX_CONFIG, type Loaded } from '../config/load'
import type { Config } from '../config/settings'
import { secretValues } from '../config/redact'
import { fileLogger } from '../log'
import { Supervisor } from '../../cluster/supervisor'
import { writePidfile } from '../../cluster/pidfile'
import { startEmbeddedRedis, type EmbeddedRedis } from '../../cluster/embedded-redis'
import { createNotifier, type Notifier } from '../../cluster/sd-notify'
import { seriousStartupProblems } from '../check'

/** Loads the configuration, printing one line per problem; undefined = exit 78. */
export function loadOrReport (args: string[]): Loaded | undefined {
  try {
    return loadConfig({ argv: args, env: process.env })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    for (const problem of err.problems) process.stderr.write(`robotrunner: config error: ${problem}\n`)
    return undefined
  }
}

export async function startCommand (args: string[]): Promise<number> {
  const loaded = loadOrReport(args)
  if (loaded === undefined) return EX_CONFIG
  // HUP reads the configuration again with the same flags and environment as this start.
  const env = { ...process.env }
  return await runSupervisor(loaded, () => loadConfig({ argv: args, env }).config, env)
}

async function runSupervisor ({ config: fileConfig, configPath }: Loaded, reread: () => Config, env: NodeJS.ProcessEnv): Promise<number> {
  process.title = 'robotrunner: supervisor'
  const appLog = fileLogger(fileConfig.log_file, fileConfig.log_level, secretValues(fileConfig), { role: 'supervisor', pid: process.pid }, { warningsToStderr: true })
  const logger = appLog.logger

  let removePidfile = (): void => {}
  let redis: EmbeddedRedis | undefined
  let notifier: Notifier | undefined
  try {
    notifier = createNotifier(env, logger)
    if (fileConfig.pidfile !== undefined) removePidfile = writePidfile(fileConfig.pidfile)
    let config = fileConfig
    if (config.redis_url === undefined) {
      redis = await startEmbeddedRedis(config.data_dir, logger)
      config = Object.freeze({ ...config, redis_url: redis.url })
    }
    logger.info({ config_path: configPath, http_workers: config.http_workers, queue_workers: config.queue_workers }, 'supervisor starting')
    // The production checklist's serious items (expired certificate, eviction, no AOF), one
    // line each; not awaited: an unreachable Redis must not delay the start.
    void seriousStartupProblems(config).then((lines) => { for (const line of lines) logger.warn(line) })
    const supervisor = new Supervisor({
      config,
      log: logger,
      reopenLogs: appLog.reopen,
      notifier,
      // The embedded redis-server keeps serving across reloads unless a redis_url appears.
      reloadConfig: () => {
        const next = reread()
        return next.redis_url === undefined && redis !== undefined ? Object.freeze({ ...next, redis_url: redis.url }) : next
      },
      onReady: (addresses) => {
        const scheme = config.ssl_enabled ? 'https' : 'http'
        process.stdout.write(`robotrunner: ready on ${addresses.map((a) => `${scheme}://${a}`).join(', ')} (${config.http_workers} http, ${config.queue_workers} queue workers)\n`)
      }
    })
    return await supervisor.run()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    logger.error({ err }, 'supervisor failed')
    process.stderr.write(`robotrunner: ${message}\n`)
    return 1
  } finally {
    notifier?.close()
    await redis?.stop()
    removePidfile()
    appLog.flush()
  }
}
