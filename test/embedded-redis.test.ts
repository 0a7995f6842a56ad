// With no redis_url, the supervisor runs and owns a private redis-server under data_dir.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRunner, descendants, cmdline, alive } from './helpers/runner'
import { waitFor } from './helpers/tmp'

t.test('embedded redis: started with AOF, stopped at exit, adopted after a SIGKILL', async (t) => {
  const certs = makeCerts(t)
  const runner = await startRunner(t, { certs, config: { http_workers: 1 } })
  const redisPids = (): number[] => descendants(runner.pid).filter((p) => cmdline(p).startsWith('redis-server'))
  const [redisPid] = redisPids()
  t.ok(redisPid, 'a redis-server child runs')
  const dataDir = String(runner.config.data_dir)
  t.ok(fs.existsSync(path.join(dataDir, 'redis', 'appendonlydir')), 'AOF is on, under data_dir/redis')
  t.equal(fs.statSync(path.join(dataDir, 'redis', 'redis.sock')).mode & 0o777, 0o700, 'private unix socket')
  const ready = await runner.raw({ path: '/ready', clientCerts: null })
  t.equal(ready.json().checks.redis, 'ok')

  // A supervisor killed hard leaves its redis-server; the next one adopts it.
  const workers = runner.workerPids()
  process.kill(runner.pid, 'SIGKILL')
  await waitFor('workers exit with their supervisor', () => workers.every((p) => !alive(p)), 5000)
  t.ok(alive(redisPid), 'redis-server survived the SIGKILL')
  const again = await startRunner(t, { certs, config: { ...runner.config, http_workers: 1 } })
  t.same(descendants(again.pid).filter((p) => cmdline(p).startsWith('redis-server')), [], 'no second redis-server')
  t.equal((await again.raw({ path: '/ready', clientCerts: null })).status, 200)
  const { code } = await again.stop('SIGTERM')
  t.equal(code, 0)
  await waitFor('the adopted redis-server stops too', () => !alive(redisPid), 5000)
  t.pass('stopped')
})
