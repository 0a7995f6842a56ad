// scripts/health_check.sh (exit 0 OK, 1 WARNING, 2 CRITICAL, with either client_auth mode)
// and scripts/backup_redis.sh (a snapshot that restores).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, ROOT } from './helpers/runner'
import { tmpDir, waitFor } from './helpers/tmp'

function run (script: string, args: string[], env: Record<string, string> = {}): { code: number | null, out: string } {
  const r = spawnSync(path.join(ROOT, 'scripts', script), args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })
  return { code: r.status, out: (r.stdout + r.stderr).trim() }
}

t.test('health_check.sh, client_auth optional', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const url = ['--url', `https://127.0.0.1:${runner.port}`]
  t.same(run('health_check.sh', url), { code: 0, out: 'OK: Robot Runner is healthy' }, 'no client certificate needed')
  t.equal(run('health_check.sh', [...url, '--cacert', certs.ca, '--ready']).code, 0, 'verified, and ready')
  t.equal(run('health_check.sh', [...url, '--cacert', path.join(makeCerts(t).ca)]).code, 2, 'a server the CA does not vouch for is CRITICAL')
  await redis.stop()
  const degraded = run('health_check.sh', [...url, '--ready'])
  t.equal(degraded.code, 1, 'Redis down: WARNING with --ready')
  t.match(degraded.out, /^WARNING: Robot Runner degraded: .*"redis":"unreachable"/)
  t.equal(run('health_check.sh', url).code, 0, 'and still OK for liveness')
  await runner.stop()
  const down = run('health_check.sh', url)
  t.equal(down.code, 2)
  t.match(down.out, /^CRITICAL: Robot Runner unhealthy \(HTTP 000\)/)
})

t.test('health_check.sh, client_auth required', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { client_auth: 'required', http_workers: 1 } })
  const url = ['--url', `https://127.0.0.1:${runner.port}`, '--cacert', certs.ca]
  t.equal(run('health_check.sh', url).code, 2, 'no certificate: the handshake fails, CRITICAL')
  t.same(run('health_check.sh', [...url, '--cert', certs.clientCert, '--key', certs.clientKey, '--ready']), { code: 0, out: 'OK: Robot Runner is healthy' })
})

t.test('backup_redis.sh takes a snapshot that restores, and prunes old ones', async (t) => {
  const password = 'backup-test-password-0123'
  const redis = await startRedis(t, { password })
  const client = redis.client()
  await client.set('rr:test:queued', 'job-1')
  await client.rpush('rr:test:list', 'a', 'b', 'c')
  const dir = tmpDir(t, 'rr-backup')
  const old = path.join(dir, 'dump_20200101_000000.rdb')
  fs.writeFileSync(old, 'REDIS0009')
  fs.utimesSync(old, new Date('2020-01-01'), new Date('2020-01-01'))
  const r = run('backup_redis.sh', ['--url', redis.url, '--dir', dir], { REDISCLI_AUTH: password })
  t.equal(r.code, 0, r.out)
  t.notMatch(r.out, new RegExp(password), 'the password is not printed')
  const dumps = fs.readdirSync(dir).filter((f) => /^dump_\d{8}_\d{6}\.rdb$/.test(f))
  t.equal(dumps.length, 1, 'one snapshot, the old one pruned')
  t.notOk(fs.existsSync(old))
  const snapshot = path.join(dir, dumps[0])
  t.equal(fs.readFileSync(snapshot).subarray(0, 5).toString(), 'REDIS')

  // Recovery as the README says: Redis stopped, --restore, Redis started again.
  await client.flushall()
  await client.set('rr:test:after-backup', 'x')
  await redis.stop()
  const restored = run('backup_redis.sh', ['--restore', snapshot, '--redis-dir', redis.dir])
  t.equal(restored.code, 0, restored.out)
  t.match(restored.out, /restored .* \(2 keys in db 0\)/)
  t.ok(fs.readdirSync(redis.dir).some((f) => f.startsWith('appendonlydir.before-restore-')), 'the old AOF kept aside')
  await redis.restart()
  const after = redis.client()
  t.equal(await after.get('rr:test:queued'), 'job-1')
  t.same(await after.lrange('rr:test:list', 0, -1), ['a', 'b', 'c'], 'restored')
  t.equal(await after.get('rr:test:after-backup'), null, 'as of the backup')
  t.ok(fs.existsSync(path.join(redis.dir, 'appendonlydir')), 'a new AOF was written')
  t.notOk(fs.existsSync(path.join(redis.dir, 'restore.rdb')), 'no leftover')
})
