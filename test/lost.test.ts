// A queue worker that dies mid-run: its robots are killed, their executions become
// `lost` and are not run again, unless the request asked for retries.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline } from './helpers/runner'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { groupMembers, markedProcesses } from './helpers/procs'
import { sleep, tmpDir, waitFor } from './helpers/tmp'

const certs = makeCerts(t)

t.test('SIGKILL of the queue worker: group killed, lost, not rerun; with retries: rerun once', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const out = tmpDir(t)
  // The second attempt (if any) ends at once; the first sleeps.
  shRobot(runner, 'once', `echo "$RR_EXECUTION_ID" >> ${out}/attempts; if [ -f ${out}/ran-$RR_EXECUTION_ID ]; then exit 0; fi; touch ${out}/ran-$RR_EXECUTION_ID; sleep 300`)
  const queueWorker = (): number => runner.workerPids().find((p) => cmdline(p).startsWith('robotrunner: queue worker'))!

  const plain = await startExecution(runner, { robot: 'once', execution_id: 'plain' })
  const retried = await startExecution(runner, { robot: 'once', execution_id: 'retried', retries: 1, secrets: { TOKEN2: 'keep-me-until-final' } })
  const a = await waitStatus(runner, plain.id, 'running')
  const b = await waitStatus(runner, retried.id, 'running')
  await waitFor('both robots spawned', async () => fs.existsSync(path.join(out, 'ran-plain')) && fs.existsSync(path.join(out, 'ran-retried')))
  const victim = queueWorker()
  process.kill(victim, 'SIGKILL')

  const lost = await waitStatus(runner, plain.id, 'lost', 15_000)
  t.match(lost.error, /died/)
  await waitFor('robot processes gone', () => groupMembers(a.pid).length === 0 && markedProcesses('plain').length === 0, 5000)
  t.pass('the dead worker\'s robot group was killed')
  const again = await waitStatus(runner, retried.id, 'succeeded', 15_000)
  t.equal(again.attempt, 2, 'retries: 1 -> run again once')
  t.equal(groupMembers(b.pid).length, 0)
  await sleep(2500) // several reaper passes
  const still = (await runner.request({ path: `/api/executions/${plain.id}` })).json()
  t.equal(still.status, 'lost', 'not rerun without retries')
  t.equal(still.attempt, 1)
  const attempts = fs.readFileSync(path.join(out, 'attempts'), 'utf8').trim().split('\n').sort()
  t.same(attempts, ['plain', 'retried', 'retried'])
  t.not(queueWorker(), victim, 'the queue worker was replaced')
  const keys = await redis.client().keys('*secrets*')
  t.same(keys, [], 'secrets removed once the execution reached its final status')
})

t.test('TERM with a robot running: it finishes within graceful_timeout_s', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { graceful_timeout_s: 10 } })
  shRobot(runner, 'short', 'sleep 1; echo done')
  const rec = await startExecution(runner, { robot: 'short' })
  await waitStatus(runner, rec.id, 'running')
  const { code } = await runner.stop('SIGTERM')
  t.equal(code, 0)
  const status = await redis.client().hget(`rr:${runner.config.machine_id}:exec:${rec.id}`, 'status')
  t.equal(status, 'succeeded', 'the running robot was allowed to finish')
  t.equal(await redis.client().hget(`rr:${runner.config.machine_id}:machine`, 'status'), 'draining')
})

t.test('TERM with a robot longer than graceful_timeout_s: cancelled (shutdown); INT: cancelled at once', async (t) => {
  const redis = await startRedis(t)
  for (const [signal, graceful] of [['SIGTERM', 1], ['SIGINT', 30]] as const) {
    const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { graceful_timeout_s: graceful, cancel_grace_s: 1 } })
    shRobot(runner, 'long', 'sleep 300')
    const rec = await startExecution(runner, { robot: 'long' })
    const running = await waitStatus(runner, rec.id, 'running')
    const before = Date.now()
    const { code } = await runner.stop(signal)
    t.equal(code, 0, `${signal}: exit 0`)
    t.ok(Date.now() - before < 5000 + graceful * 1000, `${signal}: stopped in ${Date.now() - before} ms`)
    const h = await redis.client().hgetall(`rr:${runner.config.machine_id}:exec:${rec.id}`)
    t.equal(h.status, 'cancelled', `${signal}: cancelled`)
    t.equal(h.error, 'shutdown')
    t.equal(groupMembers(running.pid).length, 0, `${signal}: no robot process left`)
  }
})
