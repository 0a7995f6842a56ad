// The supervisor with real processes and real signals: titles, replacement of a
// killed worker, clean stops with no process left behind.
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline, alive, descendants } from './helpers/runner'
import { waitFor } from './helpers/tmp'

const certs = makeCerts(t)

t.test('titles every process', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  t.equal(cmdline(runner.pid), 'robotrunner: supervisor')
  const titles = runner.workerPids().map(cmdline).sort()
  t.same(titles, ['robotrunner: http worker 1', 'robotrunner: http worker 2', 'robotrunner: queue worker 1'])
})

t.test('a SIGKILLed http worker is replaced and the port keeps answering', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const victim = runner.workerPids().find((pid) => cmdline(pid) === 'robotrunner: http worker 1')!
  process.kill(victim, 'SIGKILL')
  const replacement = await waitFor('a new http worker 1', () =>
    runner.workerPids().find((pid) => pid !== victim && cmdline(pid) === 'robotrunner: http worker 1'), 5000)
  t.not(replacement, victim)
  await waitFor('/ready again', async () => (await runner.raw({ path: '/ready', clientCerts: null })).status === 200, 5000)
  let ok = 0
  for (let i = 0; i < 20; i++) if ((await runner.request({ path: '/api/status' })).status === 200) ok++
  t.equal(ok, 20, 'every request after the replacement answered')
  const view = (await runner.request({ path: '/api/status' })).json()
  t.same(view.workers, { http: 2, queue: 1 })
})

t.test('a SIGKILLed queue worker is replaced', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const victim = runner.workerPids().find((pid) => cmdline(pid) === 'robotrunner: queue worker 1')!
  process.kill(victim, 'SIGKILL')
  await waitFor('a new queue worker 1', () =>
    runner.workerPids().find((pid) => pid !== victim && cmdline(pid) === 'robotrunner: queue worker 1'), 5000)
  t.pass('replaced')
})

for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
  t.test(`${signal}: exit 0, no process left`, async (t) => {
    const redis = await startRedis(t)
    const runner = await startRunner(t, { certs, redisUrl: redis.url })
    const pids = [runner.pid, ...descendants(runner.pid)]
    t.equal(pids.length, 4, 'supervisor + 3 workers')
    const { code } = await runner.stop(signal)
    t.equal(code, 0)
    await waitFor('all processes gone', () => pids.every((pid) => !alive(pid)), 3000)
    t.pass('no orphan')
    t.match(runner.stdout(), /robotrunner: ready on https:\/\/127\.0\.0\.1:\d+ \(2 http, 1 queue workers\)/)
  })
}

t.test('a second start with the same pidfile is refused while the first runs', async (t) => {
  const redis = await startRedis(t)
  const first = await startRunner(t, { certs, redisUrl: redis.url, config: { http_workers: 1 } })
  const pidfile = `${first.dir}/run/robotrunner.pid`
  await first.stop()
  const a = await startRunner(t, { certs, redisUrl: redis.url, config: { http_workers: 1, pidfile } })
  const fs = await import('node:fs')
  t.equal(fs.readFileSync(pidfile, 'utf8').trim(), String(a.pid), 'pidfile names the supervisor')
  const b = await startRunner(t, { certs, redisUrl: redis.url, config: { http_workers: 1, pidfile }, waitReady: false })
  const { code } = await b.exited
  t.equal(code, 1)
  t.match(b.stderr(), /names a running robotrunner/)
  await a.stop()
  t.notOk(fs.existsSync(pidfile), 'removed at exit')
})
