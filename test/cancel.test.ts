// Cancel and timeout kill everything a robot started: its group, grandchildren, and
// processes that escaped the group with setsid (found by RR_EXECUTION_ID). Checked in /proc.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, type Runner } from './helpers/runner'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { groupMembers, markedProcesses } from './helpers/procs'
import { tmpDir, waitFor } from './helpers/tmp'

const certs = makeCerts(t)
let runner: Runner
let out: string

t.before(async () => {
  const redis = await startRedis(t)
  runner = await startRunner(t, { certs, redisUrl: redis.url, config: { cancel_grace_s: 1, concurrency: 3 } })
  out = tmpDir(t)
})

t.test('cancel a running robot whose shell spawned grandchildren', async (t) => {
  shRobot(runner, 'family', `sleep 300 & sleep 300 & echo started > ${out}/family; wait`)
  const rec = await startExecution(runner, { robot: 'family' })
  await waitFor('robot started', () => fs.existsSync(path.join(out, 'family')))
  const running = await waitStatus(runner, rec.id, 'running')
  t.equal(groupMembers(running.pid).length, 3, 'sh and two sleeps in the group')
  const before = Date.now()
  const res = await runner.request({ path: `/api/executions/${rec.id}/cancel`, method: 'POST' })
  t.equal(res.status, 202)
  t.equal(res.json().status, 'running')
  t.match(res.json().cancel_requested_at, /Z$/)
  const done = await waitStatus(runner, rec.id, 'cancelled')
  await waitFor('group gone', () => groupMembers(running.pid).length === 0, 3000)
  t.ok(Date.now() - before < 1000 + 1000 + 1500, 'gone within cancel_grace_s + 1 s (plus polling slack)')
  t.equal(done.signal, 'SIGTERM', 'sh ended by the one SIGTERM')
  t.equal(markedProcesses(rec.id).length, 0)
  const again = await runner.request({ path: `/api/executions/${rec.id}/cancel`, method: 'POST' })
  t.equal(again.status, 409, 'finished -> 409')
  t.equal(again.json().error.code, 'RR_EXECUTION_FINISHED')
})

t.test('a robot that daemonizes a grandchild with setsid is killed whole', async (t) => {
  shRobot(runner, 'daemon', `setsid sh -c 'echo $$ > ${out}/daemon.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & sleep 300`)
  const rec = await startExecution(runner, { robot: 'daemon' })
  const running = await waitStatus(runner, rec.id, 'running')
  const daemonPid = Number(await waitFor('daemon pid', () => fs.existsSync(path.join(out, 'daemon.pid')) && fs.readFileSync(path.join(out, 'daemon.pid'), 'utf8').trim()))
  t.not(groupMembers(running.pid).includes(daemonPid), true, 'the daemon left the group')
  t.ok(markedProcesses(rec.id).includes(daemonPid), 'but carries the marker')
  await runner.request({ path: `/api/executions/${rec.id}/cancel`, method: 'POST' })
  await waitStatus(runner, rec.id, 'cancelled')
  await waitFor('daemon gone', () => markedProcesses(rec.id).length === 0 && groupMembers(running.pid).length === 0, 3000)
  t.notOk(fs.existsSync(`/proc/${daemonPid}/environ`) && markedProcesses(rec.id).includes(daemonPid), 'the escaped daemon is gone')
})

t.test('timeout of a robot that ignores SIGTERM: SIGKILL after grace, timed_out', async (t) => {
  shRobot(runner, 'stubborn', `trap '' TERM; echo waiting; while true; do sleep 0.1; done`)
  const rec = await startExecution(runner, { robot: 'stubborn', timeout_s: 1 })
  const running = await waitStatus(runner, rec.id, 'running')
  const done = await waitStatus(runner, rec.id, 'timed_out', 10_000)
  t.equal(done.signal, 'SIGKILL')
  t.equal(done.exit_code, null)
  t.match(done.error, /timed out after 1 s/)
  const took = Date.parse(done.finished_at) - Date.parse(done.started_at)
  t.ok(took >= 1900, `took ${took} ms: timeout 1 s + grace 1 s`)
  t.equal(groupMembers(running.pid).length, 0)
  const log = (await runner.request({ path: `/api/executions/${rec.id}/logs` })).body
  t.match(log, /timeout \(1 s\): SIGTERM/)
  t.match(log, /SIGKILL/)
})

t.test('cancel a queued execution: it never starts', async (t) => {
  shRobot(runner, 'hold', `while [ ! -f ${out}/release ]; do sleep 0.05; done`)
  shRobot(runner, 'never', `touch ${out}/never-ran`)
  const holders = []
  for (let i = 0; i < 3; i++) holders.push(await startExecution(runner, { robot: 'hold' }))
  for (const h of holders) await waitStatus(runner, h.id, 'running')
  const queued = await startExecution(runner, { robot: 'never' })
  const res = await runner.request({ path: `/api/executions/${queued.id}/cancel`, method: 'POST' })
  t.equal(res.status, 200)
  t.equal(res.json().status, 'cancelled')
  fs.writeFileSync(path.join(out, 'release'), '')
  for (const h of holders) await waitStatus(runner, h.id, 'succeeded')
  const rec = (await runner.request({ path: `/api/executions/${queued.id}` })).json()
  t.equal(rec.status, 'cancelled')
  t.equal(rec.started_at, null)
  t.notOk(fs.existsSync(path.join(out, 'never-ran')))
  const missing = await runner.request({ path: '/api/executions/nope/cancel', method: 'POST' })
  t.equal(missing.status, 404)
})
