// TTIN / TTOU: one http worker more / fewer, never fewer than one.
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline, alive } from './helpers/runner'
import { logged } from './helpers/logs'
import { waitFor } from './helpers/tmp'

const httpTitles = (pids: number[]): string[] => pids.map(cmdline).filter((c) => c.startsWith('robotrunner: http')).sort()

t.test('TTIN adds an http worker, TTOU removes one', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const httpReady = async (): Promise<number> => (await runner.request({ path: '/api/status' })).json().workers.http

  process.kill(runner.pid, 'SIGTTIN')
  await waitFor('3 http workers ready', async () => (await httpReady()) === 3, 15_000, 100)
  t.same(httpTitles(runner.workerPids()), ['robotrunner: http worker 1', 'robotrunner: http worker 2', 'robotrunner: http worker 3'])

  const third = runner.workerPids().find((pid) => cmdline(pid) === 'robotrunner: http worker 3')!
  process.kill(runner.pid, 'SIGTTOU')
  await waitFor('http worker 3 gone', () => !alive(third), 15_000)
  process.kill(runner.pid, 'SIGTTOU')
  await waitFor('1 http worker', () => httpTitles(runner.workerPids()).length === 1, 15_000)
  t.same(httpTitles(runner.workerPids()), ['robotrunner: http worker 1'], 'the highest slots go first')
  t.equal(await httpReady(), 1)

  process.kill(runner.pid, 'SIGTTOU')
  const log = path.join(runner.dir, 'logs', 'server.log')
  await waitFor('refusal logged', () => logged(log, 'TTOU ignored').length === 1, 5000)
  t.same(httpTitles(runner.workerPids()), ['robotrunner: http worker 1'], 'never below one')
  t.equal((await runner.request({ path: '/api/status' })).status, 200)
})
