// GET /metrics: one scrape for the whole machine; counts match a known workload exactly.
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline } from './helpers/runner'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { waitFor } from './helpers/tmp'

function value (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('metrics match the workload and survive worker restarts', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { queue_workers: 2, concurrency: 2 } })
  shRobot(runner, 'm', 'exit "$(echo "$RR_PARAMS" | sed -n \'s/.*"code":\\([0-9]*\\).*/\\1/p\')"')
  const codes = [0, 0, 0, 3]
  const ids = []
  for (const code of codes) ids.push((await startExecution(runner, { robot: 'm', params: { code } })).id)
  for (const [i, id] of ids.entries()) await waitStatus(runner, id, codes[i] === 0 ? 'succeeded' : 'failed')
  // waitStatus made GETs; count our own /api/status calls separately, from zero.
  for (let i = 0; i < 7; i++) t.equal((await runner.request({ path: '/api/status' })).status, 200)

  const res = await runner.request({ path: '/metrics' })
  t.equal(res.status, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  const m = res.body
  t.equal(value(m, 'robotrunner_executions_started_total{robot="m"}'), 4, 'started, summed over both queue workers')
  t.equal(value(m, 'robotrunner_executions_finished_total{robot="m",status="succeeded"}'), 3)
  t.equal(value(m, 'robotrunner_executions_finished_total{robot="m",status="failed"}'), 1)
  t.equal(value(m, 'robotrunner_http_requests_total{route="/api/status",method="GET",status="200"}'), 7, 'summed over both http workers')
  t.equal(value(m, 'robotrunner_dispatch_latency_seconds_count'), 4)
  t.equal(value(m, 'robotrunner_executions_running'), 0)
  t.equal(value(m, 'robotrunner_executions_queued'), 0)
  t.equal(value(m, 'robotrunner_redis_up'), 1)
  t.ok((value(m, 'robotrunner_certificate_days_left') ?? 0) >= 28)
  t.equal(value(m, 'robotrunner_worker_restarts_total{role="queue"}'), 0)
  t.match(m, /robotrunner_process_resident_memory_bytes\{role="supervisor",slot="0",pid="\d+"\} \d+/)
  t.match(m, /robotrunner_process_cpu_seconds_total\{role="http",slot="2",pid="\d+"\}/)
  t.match(m, /robotrunner_notifications_outbox_depth 0/)
  t.equal((await runner.raw({ path: '/metrics' })).status, 401, 'authenticated like /api')

  // Restarts: kill a queue worker and an http worker, scraping all the while.
  const queueVictim = runner.workerPids().find((p) => cmdline(p) === 'robotrunner: queue worker 1')!
  const httpVictim = runner.workerPids().find((p) => cmdline(p) === 'robotrunner: http worker 2')!
  process.kill(queueVictim, 'SIGKILL')
  process.kill(httpVictim, 'SIGKILL')
  let scrapes = 0
  let failed = 0
  while (scrapes < 10) {
    const r = await runner.request({ path: '/metrics' }).catch(() => undefined)
    scrapes++
    if (r?.status !== 200) failed++
  }
  t.ok(failed <= 1, `scrapes kept working while workers restarted (${failed} of ${scrapes} failed: at most the one on the killed worker's connection)`)
  const after = await waitFor('restarts counted', async () => {
    const text = (await runner.request({ path: '/metrics' })).body
    return value(text, 'robotrunner_worker_restarts_total{role="queue"}') === 1 && value(text, 'robotrunner_worker_restarts_total{role="http"}') === 1 ? text : undefined
  }, 10_000, 200)
  t.ok(after)
})
