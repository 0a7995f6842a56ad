// Starting executions: idempotency under a race, the machine-wide cap, priority.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { tmpDir } from './helpers/tmp'

const certs = makeCerts(t)

t.test('20 identical POSTs at the same instant across workers: one run', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const out = tmpDir(t)
  shRobot(runner, 'count', `echo "$RR_EXECUTION_ID" >> ${out}/runs`)
  const body = { robot: 'count', execution_id: 'order-42', params: { n: 1 } }
  const responses = await Promise.all(Array.from({ length: 20 }, () => runner.request({ path: '/api/executions', body })))
  const codes = responses.map((r) => r.status)
  t.equal(codes.filter((c) => c === 202).length, 1, 'exactly one created (202)')
  t.equal(codes.filter((c) => c === 200).length, 19, 'the rest get the existing record (200)')
  t.ok(responses.every((r) => r.json().id === 'order-42'))
  await waitStatus(runner, 'order-42', 'succeeded')
  const again = await runner.request({ path: '/api/executions', body })
  t.equal(again.status, 200, 'same id and body after it finished: the record, no new run')
  t.equal(again.json().status, 'succeeded')
  const conflict = await runner.request({ path: '/api/executions', body: { ...body, params: { n: 2 } } })
  t.equal(conflict.status, 409)
  t.equal(conflict.json().error.code, 'RR_EXECUTION_CONFLICT')
  t.equal(fs.readFileSync(path.join(out, 'runs'), 'utf8'), 'order-42\n', 'the robot ran once')
})

t.test('the machine-wide cap holds across 3 queue workers with 3x more jobs than slots', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { queue_workers: 3, concurrency: 1, max_concurrent_executions: 2 } })
  const out = tmpDir(t)
  // Each run registers itself, records how many are running, then leaves.
  shRobot(runner, 'slot', `mkdir ${out}/run-$RR_EXECUTION_ID; ls -d ${out}/run-* | wc -l >> ${out}/seen; sleep 0.4; rmdir ${out}/run-$RR_EXECUTION_ID`)
  const ids = []
  for (let i = 0; i < 6; i++) ids.push((await startExecution(runner, { robot: 'slot' })).id)
  for (const id of ids) await waitStatus(runner, id, 'succeeded')
  const seen = fs.readFileSync(path.join(out, 'seen'), 'utf8').trim().split('\n').map(Number)
  t.equal(seen.length, 6)
  t.ok(Math.max(...seen) <= 2, `never more than 2 at once (saw ${seen.join(',')})`)
  t.equal(Math.max(...seen), 2, 'both slots were used')
  const workers = new Set((await Promise.all(ids.map((id) => runner.request({ path: `/api/executions/${id}` })))).map((r) => r.json().worker_pid))
  t.ok(workers.size >= 2, 'several queue workers took jobs: the cap is machine-wide, not per process')
})

t.test('priority high runs before every queued normal; status shows busy/full/idle', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { concurrency: 1 } })
  const out = tmpDir(t)
  shRobot(runner, 'block', `while [ ! -f ${out}/go ]; do sleep 0.05; done`)
  shRobot(runner, 'mark', `echo "$RR_EXECUTION_ID" >> ${out}/order`)
  const blocker = await startExecution(runner, { robot: 'block' })
  await waitStatus(runner, blocker.id, 'running')
  const normals = []
  for (let i = 0; i < 3; i++) normals.push((await startExecution(runner, { robot: 'mark', execution_id: `normal-${i}` })).id)
  await startExecution(runner, { robot: 'mark', execution_id: 'urgent', priority: 'high' })
  const status = (await runner.request({ path: '/api/status' })).json()
  t.equal(status.status, 'full', 'running = cap')
  t.same(status.running, [blocker.id])
  t.equal(status.queued, 4)
  fs.writeFileSync(path.join(out, 'go'), '')
  for (const id of normals) await waitStatus(runner, id, 'succeeded')
  t.same(fs.readFileSync(path.join(out, 'order'), 'utf8').trim().split('\n'), ['urgent', 'normal-0', 'normal-1', 'normal-2'])
  const idle = (await runner.request({ path: '/api/status' })).json()
  t.equal(idle.status, 'idle')
  t.equal(idle.queued, 0)
})

t.test('record fields, environment and params file', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { execution_timeout_s: 77 } })
  const out = tmpDir(t)
  const dir = shRobot(runner, 'env', `pwd > ${out}/cwd; env | grep -E '^(RR_|NOTIFY_SOCKET|WATCHDOG)' | sort > ${out}/env; cat "$RR_PARAMS_FILE" > ${out}/params; stat -c %a "$RR_PARAMS_FILE" > ${out}/mode; exit 3`)
  const rec = await startExecution(runner, { robot: 'env', params: { a: [1, 2], b: { c: null } } })
  t.equal(rec.status, 'queued')
  t.equal(rec.timeout_s, 77, 'execution_timeout_s applies without request or manifest value')
  t.equal(rec.attempt, 1)
  const done = await waitStatus(runner, rec.id, 'failed')
  t.equal(done.exit_code, 3)
  t.equal(done.signal, null)
  t.match(done.started_at, /Z$/)
  t.match(done.finished_at, /Z$/)
  t.equal(done.machine_id, runner.config.machine_id)
  t.ok(done.pid > 0 && done.worker_pid > 0)
  t.equal(fs.readFileSync(path.join(out, 'cwd'), 'utf8').trim(), dir, 'cwd is the robot folder')
  const env = fs.readFileSync(path.join(out, 'env'), 'utf8')
  t.match(env, `RR_EXECUTION_ID=${rec.id}`)
  t.match(env, 'RR_PARAMS={"a":[1,2],"b":{"c":null}}')
  t.match(env, /RR_ARTIFACTS_DIR=.*\/executions\/.*\/artifacts/)
  t.notMatch(env, /RR_TOKEN|NOTIFY_SOCKET|WATCHDOG/, 'no runner settings leak to robots')
  t.same(JSON.parse(fs.readFileSync(path.join(out, 'params'), 'utf8')), { a: [1, 2], b: { c: null } })
  t.equal(fs.readFileSync(path.join(out, 'mode'), 'utf8').trim(), '600')

  shRobot(runner, 'slow', 'sleep 5', { timeout_s: 9 })
  const manifestTimeout = await startExecution(runner, { robot: 'slow' })
  t.equal(manifestTimeout.timeout_s, 9, 'the manifest beats the default')
  const requestTimeout = await startExecution(runner, { robot: 'slow', timeout_s: 4 })
  t.equal(requestTimeout.timeout_s, 4, 'the request beats the manifest')
})

t.test('a command that cannot start fails with the reason', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const { addRobot } = await import('./helpers/robots')
  addRobot(runner, 'missing', { command: ['/nonexistent/robot-binary'] })
  const rec = await startExecution(runner, { robot: 'missing' })
  const done = await waitStatus(runner, rec.id, 'failed')
  t.match(done.error, /ENOENT/)
})

t.test('a runner-side failure before spawn ends the record as failed, not running forever', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  fs.mkdirSync(String(runner.config.data_dir), { recursive: true })
  fs.writeFileSync(path.join(String(runner.config.data_dir), 'executions'), 'not a folder')
  shRobot(runner, 'fine', 'exit 0')
  const rec = await startExecution(runner, { robot: 'fine' })
  const done = await waitStatus(runner, rec.id, 'failed')
  t.match(done.error, /runner error: .*ENOTDIR/)
  const status = (await runner.request({ path: '/api/status' })).json()
  t.same(status.running, [], 'the slot is free again')
})
