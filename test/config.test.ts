// Configuration: precedence file < env < flag, and every kind of bad value exits 78
// with one line naming the key and its source.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { loadConfig, ConfigError } from '../src/config/load'
import { SETTINGS } from '../src/config/settings'
import { makeCerts } from './helpers/certs'
import { MAIN, cleanTapEnv, nodeCommand } from './helpers/runner'
import { tmpDir } from './helpers/tmp'

const certs = makeCerts(t)
const TOKEN = 'tok-' + 'x'.repeat(40)
const base = { machine_id: 'cfg-test', license_key: 'LICENSE-SECRET-123', token: TOKEN, cert_file: certs.cert, key_file: certs.key, ca_cert: certs.ca }

function writeConfig (dir: string, obj: unknown): string {
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, typeof obj === 'string' ? obj : JSON.stringify(obj))
  return file
}

function cleanEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RR_')) env[k] = v
  return cleanTapEnv({ ...env, ...extra })
}

t.test('precedence: defaults < file < env < flags', async (t) => {
  const dir = tmpDir(t)
  const file = writeConfig(dir, { ...base, port: 6001, queue_workers: 3, log_level: 'INFO' })
  const { config, sources } = loadConfig({ argv: ['--config', file, '--port', '6003'], env: { RR_PORT: '6002', RR_CONCURRENCY: '2', RR_RATE_LIMIT: '{"max":5}' }, cwd: dir })
  t.equal(config.port, 6003)
  t.equal(sources.port, 'flag')
  t.equal(config.concurrency, 2, 'env coerced to integer')
  t.equal(sources.concurrency, 'env')
  t.equal(config.queue_workers, 3)
  t.equal(config.max_concurrent_executions, 6, 'computed default: queue_workers x concurrency')
  t.same(config.rate_limit, { max: 5, time_window_ms: 60000 }, 'partial object merged over its default')
  t.equal(config.log_level, 'info', 'the guide\'s upper-case level is accepted')
  t.equal(config.data_dir, path.join(dir, 'data'), 'relative paths resolve against the working directory')
  t.ok(Object.isFrozen(config) && Object.isFrozen(config.rate_limit), 'deep-frozen')
  t.equal(config.http_workers >= 1 && config.http_workers <= 4, true)
})

t.test('every setting has a description and a valid env name', async (t) => {
  for (const s of SETTINGS) {
    t.ok(s.description.length > 10, `${s.key} documented`)
    t.match(s.key, /^[a-z][a-z0-9_]*$/)
  }
  const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'config.json.example'), 'utf8'))
  for (const s of SETTINGS) t.ok(`// ${s.key}` in example, `${s.key} is in config/config.json.example`)
})

const badCases: Array<{ name: string, file?: unknown, env?: Record<string, string>, args?: string[], expect: RegExp[] }> = [
  { name: 'unknown key in the file', file: { ...base, prot: 5001 }, expect: [/^robotrunner: config error: prot \(file .*config\.json\): unknown setting$/m] },
  { name: 'wrong type in the file', file: { ...base, http_workers: 'many' }, expect: [/http_workers \(file .*\): must be integer/] },
  { name: 'out of range from env', file: base, env: { RR_PORT: '99999' }, expect: [/port \(env RR_PORT\): must be <= 65535/] },
  { name: 'unknown env variable', file: base, env: { RR_PROT: '1' }, expect: [/RR_PROT \(env\): unknown setting/] },
  { name: 'bad flag value', file: base, args: ['--http-workers', '0'], expect: [/http_workers \(flag --http_workers\): must be >= 1/] },
  { name: 'unknown flag', file: base, args: ['--colour', 'red'], expect: [/--colour \(flag\): unknown setting/] },
  { name: 'missing required secrets', file: { machine_id: 'x', cert_file: certs.cert, key_file: certs.key, ca_cert: certs.ca }, expect: [/license_key \(missing\): required/, /token \(missing\): required/] },
  { name: 'short token', file: { ...base, token: 'short-secret-tok' }, expect: [/token \(file .*\): must be at least 32 characters/] },
  { name: 'plain HTTP on a public host', file: { ...base, ssl_enabled: false, host: '0.0.0.0' }, expect: [/ssl_enabled \(file .*\): false is refused/] },
  { name: 'notify_url not https', file: { ...base, notify_url: 'http://orch.example/hook' }, expect: [/notify_url \(file .*\): must be https:\/\//] },
  { name: 'notify_url unparsable', file: { ...base, notify_url: 'not a url' }, expect: [/notify_url \(file .*\): not a valid URL/] },
  { name: 'missing certificate file', file: { ...base, cert_file: '/nonexistent/cert.pem' }, expect: [/cert_file \(file .*\): cannot read \/nonexistent\/cert\.pem: ENOENT/] },
  { name: 'nested unknown field from env', file: base, env: { RR_RATE_LIMIT: '{"max":10,"window":5}' }, expect: [/rate_limit \(env RR_RATE_LIMIT\): unknown field "window"/] },
  { name: 'nested value not JSON', file: base, env: { RR_RETENTION: '{oops' }, expect: [/retention \(env RR_RETENTION\): must be a JSON object/] },
  { name: 'bad enum', file: { ...base, client_auth: 'sometimes' }, expect: [/client_auth \(file .*\): must be one of optional, required/] },
  { name: 'config file not JSON', file: '{"machine_id": ', expect: [/config \(file .*\): not valid JSON/] },
  { name: 'several problems, one line each', file: { ...base, port: -1, backlog: 'x', colour: 1 }, expect: [/port .*must be >= 0/, /backlog .*must be integer/, /colour .*unknown setting/] }
]

for (const c of badCases) {
  t.test(`exit 78: ${c.name}`, async (t) => {
    const dir = tmpDir(t)
    const args = [MAIN, 'start']
    if (c.file !== undefined) args.push('--config', writeConfig(dir, c.file))
    const res = spawnSync(...nodeCommand([...args, ...(c.args ?? [])]), { cwd: dir, env: cleanEnv(c.env), encoding: 'utf8', timeout: 20_000 })
    t.equal(res.status, 78, 'exit code 78 (EX_CONFIG)')
    for (const re of c.expect) t.match(res.stderr, re)
    const lines = res.stderr.trim().split('\n')
    t.ok(lines.every((l) => l.startsWith('robotrunner: config error: ')), 'only config-error lines')
    t.notMatch(res.stderr + res.stdout, /LICENSE-SECRET-123|short-secret-tok|xxxxxxxxxx/, 'no secret in the output')
    t.notOk(fs.existsSync(path.join(dir, 'logs')), 'nothing started')
  })
}

t.test('loadConfig throws ConfigError listing problems', async (t) => {
  t.throws(() => loadConfig({ argv: [], env: { RR_PORT: 'abc' }, cwd: tmpDir(t) }), ConfigError)
})
