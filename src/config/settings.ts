// Every setting of Robot Runner, declared once: its JSON schema, default,
// whether it is a secret, and what it means. The validator, the env-variable
// names, config/config.json.example and the README table all come from here.
import os from 'node:os'

export type JsonSchema = Record<string, unknown>

export interface Setting {
  /** key in config.json; the env variable is RR_<KEY_UPPER> */
  key: string
  schema: JsonSchema
  /** literal default, a function of the other resolved keys, or undefined = required/none */
  default?: unknown | ((c: Record<string, unknown>) => unknown)
  /** how the default reads in docs when it is computed */
  defaultDoc?: string
  required?: boolean
  secret?: boolean
  description: string
}

const str: JsonSchema = { type: 'string', minLength: 1 }
const positiveInt = (max: number): JsonSchema => ({ type: 'integer', minimum: 1, maximum: max })

export const SETTINGS: readonly Setting[] = [
  { key: 'machine_id', schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }, required: true, description: 'identity of this runner; part of every Redis key and notification' },
  { key: 'license_key', schema: str, required: true, secret: true, description: 'sent to the orchestrator with notifications; never logged' },
  { key: 'token', schema: str, required: true, secret: true, description: 'bearer token the orchestrator must send; at least 32 characters unless dev is true' },
  { key: 'dev', schema: { type: 'boolean' }, default: false, description: 'development mode: allows a short token and plain HTTP on any host' },
  { key: 'host', schema: str, default: '0.0.0.0', description: 'listen address' },
  { key: 'port', schema: { type: 'integer', minimum: 0, maximum: 65535 }, default: 5001, description: 'listen port (0 = any free port, for tests)' },
  { key: 'ssl_enabled', schema: { type: 'boolean' }, default: true, description: 'serve HTTPS; false is refused unless host is loopback or dev is true' },
  { key: 'cert_file', schema: str, default: 'ssl/cert.pem', description: 'server certificate (PEM)' },
  { key: 'key_file', schema: str, default: 'ssl/key.pem', description: 'server private key (PEM)' },
  { key: 'ca_cert', schema: str, default: 'ssl/ca-cert.pem', description: 'CA that client certificates must chain to; also verifies notify_url' },
  { key: 'client_auth', schema: { enum: ['optional', 'required'] }, default: 'optional', description: '"optional": TLS asks for a client certificate and every route but /health and /ready requires a verified one; "required": the handshake fails without one' },
  { key: 'notify_url', schema: { type: 'string', minLength: 1 }, description: 'orchestrator endpoint for status notifications (none = no notifications)' },
  { key: 'notify_on_status_change', schema: { type: 'boolean' }, default: true, description: 'send status notifications to notify_url' },
  { key: 'log_level', schema: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, default: 'info', description: 'pino log level (case-insensitive: INFO works)' },
  { key: 'log_file', schema: str, default: 'logs/server.log', description: 'application log (JSON lines); "-" = standard output' },
  { key: 'access_log', schema: str, default: 'logs/access.log', description: 'HTTP access log (JSON lines); "-" = standard output' },
  { key: 'redis_url', schema: { type: 'string', pattern: '^(redis|rediss|unix)://' }, defaultDoc: 'embedded', description: 'Redis for state and queue (redis://, rediss:// or unix:///path.sock). Unset = the supervisor runs a private redis-server under data_dir/redis (AOF on)' },
  { key: 'redis_password', schema: str, secret: true, description: 'Redis password when it is not in redis_url' },
  { key: 'http_workers', schema: positiveInt(64), default: () => Math.min(4, 2 * os.availableParallelism() + 1), defaultDoc: 'min(4, 2 x cores + 1)', description: 'Fastify worker processes' },
  { key: 'queue_workers', schema: positiveInt(64), default: 1, description: 'robot-executing worker processes' },
  { key: 'concurrency', schema: positiveInt(256), default: 4, description: 'robots one queue worker runs at once' },
  { key: 'max_concurrent_executions', schema: positiveInt(4096), default: (c: Record<string, unknown>) => (c.queue_workers as number) * (c.concurrency as number), defaultDoc: 'queue_workers x concurrency', description: 'machine-wide cap on running robots, held across reloads and restarts' },
  { key: 'robots_dir', schema: str, default: 'robots', description: 'where robots live: <robots_dir>/<name>/robot.json' },
  { key: 'data_dir', schema: str, default: 'data', description: 'execution logs, artifacts and the embedded Redis' },
  { key: 'execution_timeout_s', schema: positiveInt(7 * 24 * 3600), default: 3600, description: 'default wall-clock limit of one execution' },
  { key: 'cancel_grace_s', schema: { type: 'number', minimum: 0, maximum: 3600 }, default: 10, description: 'SIGTERM to SIGKILL grace for a robot process group' },
  { key: 'graceful_timeout_s', schema: { type: 'number', minimum: 0, maximum: 3600 }, default: 30, description: 'how long a stopping HTTP worker may finish in-flight requests' },
  { key: 'worker_timeout_s', schema: { type: 'number', minimum: 1, maximum: 3600 }, default: 120, description: 'a worker whose event loop does not answer the heartbeat this long is killed and replaced' },
  { key: 'keepalive_s', schema: { type: 'number', minimum: 0, maximum: 3600 }, default: 5, description: 'HTTP keep-alive timeout' },
  { key: 'backlog', schema: positiveInt(65535), default: 2048, description: 'listen backlog' },
  { key: 'body_limit_bytes', schema: positiveInt(1024 * 1024 * 1024), default: 1048576, description: 'request body cap (413 above)' },
  {
    key: 'rate_limit',
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { max: positiveInt(1e9), time_window_ms: positiveInt(24 * 3600 * 1000) }
    },
    default: { max: 600, time_window_ms: 60000 },
    description: 'per client (certificate fingerprint, else IP), shared by all workers through Redis; /health and /ready exempt'
  },
  { key: 'pidfile', schema: str, description: 'written atomically by the supervisor, removed at exit (none = no pidfile)' },
  {
    key: 'retention',
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { max_executions: positiveInt(1e9), max_age_days: { type: 'number', exclusiveMinimum: 0 } }
    },
    default: { max_executions: 10000, max_age_days: 30 },
    description: 'finished executions, their logs and artifacts are pruned beyond this'
  },
  { key: 'max_log_bytes', schema: positiveInt(1024 ** 4), default: 104857600, description: 'per execution; the log is truncated with a marker line past it' }
]

export const SETTING_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]))

export const envName = (key: string): string => `RR_${key.toUpperCase()}`

/** The resolved configuration every process works with (frozen). */
export interface Config {
  machine_id: string
  license_key: string
  token: string
  dev: boolean
  host: string
  port: number
  ssl_enabled: boolean
  cert_file: string
  key_file: string
  ca_cert: string
  client_auth: 'optional' | 'required'
  notify_url?: string
  notify_on_status_change: boolean
  log_level: string
  log_file: string
  access_log: string
  redis_url?: string
  redis_password?: string
  http_workers: number
  queue_workers: number
  concurrency: number
  max_concurrent_executions: number
  robots_dir: string
  data_dir: string
  execution_timeout_s: number
  cancel_grace_s: number
  graceful_timeout_s: number
  worker_timeout_s: number
  keepalive_s: number
  backlog: number
  body_limit_bytes: number
  rate_limit: { max: number; time_window_ms: number }
  pidfile?: string
  retention: { max_executions: number; max_age_days: number }
  max_log_bytes: number
}

export type Source = 'default' | 'file' | 'env' | 'flag'
