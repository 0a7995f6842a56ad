// `robotrunner check`: a good setup passes, Redis set up the way the old guide said (or not
// answering) fails, the port is judged by who holds it, a broken config is an item and not a
// crash, no secret is ever printed, and the serious failures come back for the start-up log.
import t from 'tap'
import net from 'node:net'
import path from 'node:path'
import { seriousStartupProblems } from '../src/check'
import { loadConfig } from '../src/config/load'
import { makeCerts } from './helpers/certs'
import { freePort } from './helpers/free-port'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { runCheck, failedIds, exitFor, type CheckRun } from './helpers/check'
import { tmpDir } from './helpers/tmp'

const certs = makeCerts(t, 825)
const TOKEN = 'tok-' + 'S'.repeat(40)
const LICENSE = 'LICENSE-SECRET-123'

const check = (t: tap.Test, overrides: Record<string, unknown>, opts: { json?: boolean, configPath?: string } = {}): Promise<CheckRun> =>
  runCheck(t, overrides, { certs, machineId: 'check-test', token: TOKEN, licenseKey: LICENSE, ...opts })
const failed = failedIds
const REDIS_IDS = ['redis.reachable', 'redis.version', 'redis.aof', 'redis.password', 'redis.eviction', 'redis.dir']

t.test('a good setup: ✓ everywhere but what this machine cannot tell; exit 0', async (t) => {
  const redis = await startRedis(t)
  const { code, items, configPath } = await check(t, { redis_url: redis.url })
  t.same([...items.keys()], ['config', 'tls.files', 'tls.key_match', 'tls.chain', 'tls.self_signed', 'tls.expiry', 'tls.key_perms', ...REDIS_IDS,
    'dirs.logs', 'dirs.data', 'system.cores', 'system.memory', 'system.disk', 'port', 'systemd', 'logrotate'])
  // Hardware below the guide's recommendation is a warning; no systemd here is a "?".
  const machineDependent = new Set(['system.cores', 'system.memory', 'system.disk', 'systemd'])
  for (const item of items.values()) {
    if (!machineDependent.has(item.id)) t.equal(item.status, 'ok', `${item.id}: ${item.reason}`)
    t.type(item.title, 'string')
    t.ok(item.fix === null || typeof item.fix === 'string')
  }
  t.match(items.get('redis.reachable')!.reason, `redis://127.0.0.1:${redis.port}/0`)
  t.match(items.get('redis.password')!.reason, /no password, but bound to loopback only \(bind 127\.0\.0\.1\)/)
  t.match(items.get('redis.dir')!.reason, `${redis.dir} is writable by the redis-server process`)
  t.equal(code, exitFor(items), 'exit 0 (unless this machine runs systemd without our unit)')

  const config = loadConfig({ argv: ['--config', configPath], env: {} }).config
  t.same(await seriousStartupProblems(config), [], 'nothing to log at start-up')
})

t.test('the text report: a mark, the title and the reason per line; fixes under failures; a summary', async (t) => {
  const redis = await startRedis(t)
  // A data_dir under a file: not creatable, even by root.
  const dataDir = path.join(certs.cert, 'data')
  const { code, stdout } = await check(t, { redis_url: redis.url, data_dir: dataDir }, { json: false })
  t.match(stdout, /^✓ the configuration is valid: .*config\.json: valid$/m)
  t.match(stdout, /^✓ Redis never evicts keys \(maxmemory-policy noeviction\): maxmemory-policy noeviction$/m)
  t.match(stdout, `\n✗ data_dir is writable: ${dataDir} cannot be created: ${certs.cert} is not a directory\n    fix: create ${dataDir} owned by the service user`)
  t.match(stdout, /\n\d+ ✓ ok, \d+ ! warnings, \d+ \? cannot tell here, [1-9]\d* ✗ failed: FAILED\n$/)
  t.equal(code, 1)
})

t.test('Redis as the old guide set it up (allkeys-lru, no AOF): ✗ both, exit 1, start-up lines', async (t) => {
  const redis = await startRedis(t, { args: ['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'] })
  const { code, items, configPath } = await check(t, { redis_url: redis.url })
  t.same(failed(items), ['redis.aof', 'redis.eviction'])
  t.match(items.get('redis.eviction')!.reason, /^maxmemory-policy is allkeys-lru \(as the old deployment guide suggested\): when Redis reaches maxmemory it deletes keys .*queued jobs/)
  t.match(items.get('redis.eviction')!.fix, /CONFIG SET maxmemory-policy noeviction/)
  t.match(items.get('redis.aof')!.reason, /^appendonly is no: a Redis restart loses/)
  t.equal(code, 1)

  const lines = await seriousStartupProblems(loadConfig({ argv: ['--config', configPath], env: {} }).config)
  t.equal(lines.length, 2)
  t.match(lines[0], /^check failed: Redis appends every write to its AOF .*: appendonly is no/)
  t.match(lines[1], /^check failed: Redis never evicts keys .*: maxmemory-policy is allkeys-lru/)
})

t.test('an unreachable Redis: ✗ reachable, the other Redis items "?", exit 1', async (t) => {
  const port = await freePort()
  const { code, items } = await check(t, { redis_url: `redis://127.0.0.1:${port}/0` })
  t.same(failed(items), ['redis.reachable'])
  t.match(items.get('redis.reachable')!.reason, `redis://127.0.0.1:${port}/0: connect ECONNREFUSED`)
  for (const id of REDIS_IDS.slice(1)) t.equal(items.get(id)!.status, 'unknown', id)
  t.equal(code, 1)
})

t.test('CONFIG renamed away: AOF and eviction read from INFO, the rest "?", no ✗', async (t) => {
  const redis = await startRedis(t, { args: ['--rename-command', 'CONFIG', ''] })
  const { items } = await check(t, { redis_url: redis.url })
  t.equal(items.get('redis.aof')!.status, 'ok')
  t.equal(items.get('redis.eviction')!.status, 'ok')
  t.equal(items.get('redis.dir')!.status, 'unknown')
  t.match(items.get('redis.dir')!.reason, /CONFIG is disabled or renamed/)
  t.equal(items.get('redis.password')!.status, 'unknown')
  t.same(failed(items), [])
})

t.test('no secret is printed: token, license key, Redis password (text and JSON)', async (t) => {
  const password = 'redis-secret-pass-42'
  const redis = await startRedis(t, { password })
  for (const json of [true, false]) {
    const { stdout, items } = await check(t, { redis_url: `redis://:${password}@127.0.0.1:${redis.port}/0` }, { json })
    if (json) t.equal(items.get('redis.password')!.status, 'ok', 'a password is required')
    t.match(stdout, `redis://:***@127.0.0.1:${redis.port}/0`)
    for (const secret of [password, TOKEN, LICENSE]) t.notOk(stdout.includes(secret), `${secret} not printed`)
  }
})

t.test('a port held by something else: ✗ naming the holder, exit 1', async (t) => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as net.AddressInfo).port
  const { code, items } = await check(t, { port })
  t.same(failed(items), ['port'])
  t.match(items.get('port')!.reason, `127.0.0.1:${port} is held by pid ${process.pid}`)
  t.equal(code, 1)
})

t.test('a running runner: its port is ✓ (held by this runner), its embedded Redis checked live', async (t) => {
  const pidfile = path.join(tmpDir(t, 'rr-pid'), 'robotrunner.pid')
  const runner = await startRunner(t, { certs, config: { pidfile, log_file: '-', access_log: '-' } })
  const { items } = await check(t, {}, { configPath: runner.configPath })
  t.equal(items.get('port')!.status, 'ok')
  t.match(items.get('port')!.reason, `127.0.0.1:${runner.port} is held by this runner (pid ${runner.pid} in ${pidfile})`)
  for (const id of REDIS_IDS) t.equal(items.get(id)!.status, 'ok', id)
  t.match(items.get('redis.reachable')!.reason, /^embedded .*, running: unix:\/\//)
  t.match(items.get('redis.password')!.reason, /unix socket only \(port 0\)/)
  t.same(failed(items), [])
})

t.test('a configuration that does not load is a ✗ item, not a crash', async (t) => {
  const { code, items } = await check(t, { port: 'many', colour: 'red' })
  t.same([...items.keys()], ['config', 'checks'])
  t.match(items.get('config')!.reason, /port \(file .*\): must be integer/)
  t.match(items.get('config')!.reason, /colour \(file .*\): unknown setting/)
  t.equal(items.get('checks')!.status, 'unknown')
  t.equal(code, 1)
})
