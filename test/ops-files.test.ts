// The files an operator installs: the systemd unit passes `systemd-analyze verify`, the
// logrotate file rotates a running runner's logs for real, redis.conf runs a redis-server.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, ROOT } from './helpers/runner'
import { freePort } from './helpers/free-port'
import { readLog } from './helpers/logs'
import { tmpDir, waitFor } from './helpers/tmp'

t.test('systemd/robotrunner.service passes systemd-analyze verify', async (t) => {
  const unit = fs.readFileSync(path.join(ROOT, 'systemd', 'robotrunner.service'), 'utf8')
  const dir = tmpDir(t)
  fs.writeFileSync(path.join(dir, 'robotrunner.service'), unit)
  const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'robotrunner.service')], { encoding: 'utf8' })
  t.equal(r.status, 0, 'exit 0')
  t.equal(r.stderr.trim(), '', 'no warning')
  const directives = new Map<string, string[]>()
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m !== null) directives.set(m[1], [...(directives.get(m[1]) ?? []), m[2]])
  }
  const one = (k: string): string | undefined => directives.get(k)?.[0]
  t.equal(one('Type'), 'notify')
  t.equal(one('NotifyAccess'), 'main')
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID')
  t.equal(one('KillMode'), 'mixed')
  t.equal(one('KillSignal'), 'SIGTERM')
  t.equal(one('Restart'), 'always')
  t.match(one('WatchdogSec'), /^\d+$/)
  t.equal(one('RestartPreventExitStatus'), '78')
  for (const k of ['NoNewPrivileges', 'PrivateDevices', 'PrivateTmp', 'ProtectHome']) t.equal(one(k), 'true', k)
  t.equal(one('ProtectSystem'), 'strict')
  t.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE')
  t.match(one('ReadWritePaths'), /\/opt\/robotrunner\/logs .*\/opt\/robotrunner\/data/)
  t.match(one('ExecStart'), /dist\/src\/cli\/main\.js start --config /)
})

t.test('config/logrotate rotates a running runner\'s logs; USR1 makes it write new files', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const logs = path.join(runner.dir, 'logs')
  for (let i = 0; i < 3; i++) await runner.request({ path: '/api/status' })
  const calls = (file: string): number => readLog(path.join(logs, file)).filter((l) => l.url === '/api/status').length
  await waitFor('access lines', () => calls('access.log') === 3, 5000)
  // The shipped file, pointed at this runner: its paths, this user, and USR1 by pid (no
  // systemd here) instead of `systemctl kill --kill-who=main`.
  const user = os.userInfo().username
  const conf = fs.readFileSync(path.join(ROOT, 'config', 'logrotate'), 'utf8')
    .replace(/^\/opt\/robotrunner\/logs\/\*\.log .*\{$/m, `${logs}/*.log {`)
    .replace(/robotrunner robotrunner/g, `${user} ${user}`)
    .replace(/systemctl kill --kill-who=main --signal=SIGUSR1 robotrunner\.service/, `kill -USR1 ${runner.pid}`)
  t.match(conf, new RegExp(`kill -USR1 ${runner.pid}`), 'the postrotate line was found')
  const dir = tmpDir(t)
  fs.writeFileSync(path.join(dir, 'robotrunner'), conf)
  execFileSync('logrotate', ['-f', '-s', path.join(dir, 'state'), path.join(dir, 'robotrunner')])
  t.ok(fs.existsSync(path.join(logs, 'access.log.1')), 'rotated (delaycompress: .1 uncompressed)')
  await waitFor('every process reopened', () => readLog(path.join(logs, 'server.log')).filter((l) => l.msg === 'log files reopened').length === 4, 10_000)
  for (let i = 0; i < 4; i++) await runner.request({ path: '/api/status' })
  await waitFor('new access.log written', () => calls('access.log') === 4, 5000)
  t.equal(calls('access.log.1'), 3, 'the rotated file got nothing more')
})

t.test('config/redis.conf: AOF on, password, loopback, noeviction', async (t) => {
  const dir = tmpDir(t, 'rr-redisconf')
  const port = await freePort()
  const password = 'test-password-0123456789'
  // The shipped file, with this test's port, dir and password given after it (they win).
  const child = spawn('redis-server', [path.join(ROOT, 'config', 'redis.conf'), '--port', String(port), '--dir', dir, '--logfile', '', '--requirepass', password, '--daemonize', 'no'], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => { child.kill('SIGTERM'); await exited })
  const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await waitFor('redis-server up', async () => { try { await client.connect() } catch { return false } return (await client.ping()) === 'PONG' }, 10_000)
  const get = async (key: string): Promise<string> => ((await client.config('GET', key)) as string[])[1]
  t.equal(await get('appendonly'), 'yes')
  t.equal(await get('appendfsync'), 'everysec')
  t.equal(await get('maxmemory-policy'), 'noeviction')
  t.equal(await get('protected-mode'), 'yes')
  t.match(await get('bind'), /^127\.0\.0\.1/)
  const anonymous = new Redis({ port, host: '127.0.0.1', lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
  anonymous.on('error', () => {})
  t.teardown(() => anonymous.disconnect())
  await anonymous.connect()
  await t.rejects(anonymous.ping(), /NOAUTH/, 'a password is required')
  t.match(fs.readFileSync(path.join(ROOT, 'config', 'redis.conf'), 'utf8'), /allkeys-lru[\s\S]*lost[\s\S]*maxmemory-policy noeviction/, 'says why not allkeys-lru')
})
