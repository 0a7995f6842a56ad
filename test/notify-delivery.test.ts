// Status notifications reach the orchestrator: every status of 100 executions and every
// machine status, in seq order per execution, signed, over mTLS; delivered entries leave
// Redis. Also reports the delivery latency (state change -> arrival), without asserting it.
import t, { type Test } from 'tap'
import { makeKeys } from '../src/state/keys'
import { makeCerts } from './helpers/certs'
import { accepted, dualUseCerts, makeOrchestrator, quantile, type Arrival } from './helpers/orchestrator'
import { startRedis } from './helpers/redis'
import { shRobot, startExecution } from './helpers/robots'
import { startRunner } from './helpers/runner'
import { waitFor } from './helpers/tmp'

const certs = dualUseCerts(makeCerts(t))
const N = 100

t.test('100 executions: every status arrives in order, signed', async (t) => {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: certs, clientCa: certs.ca })
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url, queue_workers: 2, concurrency: 4 } })
  orch.token = runner.token
  await orch.listen()
  shRobot(runner, 'ok', 'exit 0')

  const ids = Array.from({ length: N }, (_, i) => `n-${i}`)
  for (let i = 0; i < N; i += 10) {
    await Promise.all(ids.slice(i, i + 10).map((id) => startExecution(runner, { robot: 'ok', execution_id: id })))
  }
  const keys = makeKeys(runner.config.machine_id)
  const client = redis.client()
  await waitFor('every execution to report succeeded and the machine idle', async () => {
    const got = accepted(orch)
    const done = ids.every((id) => got.get(id)?.some((n) => n.status === 'succeeded'))
    return done && got.get('machine')?.at(-1)?.status === 'idle' && await client.zcard(keys.notifyDue) === 0
  }, 120_000, 200)

  t.ok(orch.arrivals.length > 0)
  t.ok(orch.arrivals.every((a) => a.signatureOk), 'every signature is valid')
  t.ok(orch.arrivals.every((a) => a.headers['x-machine-id'] === runner.config.machine_id), 'X-Machine-Id')
  t.ok(orch.arrivals.every((a) => a.headers['x-license-key'] === runner.config.license_key), 'X-License-Key')
  t.ok(orch.arrivals.every((a) => a.headers['content-type'] === 'application/json'), 'content-type')

  const got = accepted(orch)
  let ordered = 0
  for (const id of ids) {
    const list = got.get(id) ?? []
    const shape = list.map((n) => `${n.seq}:${String(n.previous_status)}>${n.status}`)
    if (shape.join(' ') === '1:null>queued 2:queued>running 3:running>succeeded') ordered++
    else t.fail(`${id}: ${shape.join(' ')}`)
  }
  t.equal(ordered, N, 'each execution: queued, running, succeeded with seq 1, 2, 3, in that order')
  const sample = got.get('n-0')![2]
  t.equal(sample.event, 'execution.status')
  t.equal(sample.machine_id, runner.config.machine_id)
  t.match(sample.id, new RegExp(`^${runner.config.machine_id}:\\d+-\\d+$`))
  t.match(sample.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.match(sample.execution, { id: 'n-0', robot: 'ok', status: 'succeeded', exit_code: 0, machine_id: runner.config.machine_id })
  t.notOk('body_hash' in sample.execution, 'the API record, not the Redis hash')

  const machine = got.get('machine') ?? []
  t.same(machine.map((n) => n.seq), machine.map((_, i) => i + 1), 'machine events: seq 1..n, none missing, in order')
  t.equal(machine[0].previous_status, null)
  t.ok(machine.every((n, i) => i === 0 || n.previous_status === machine[i - 1].status), 'each previous_status is the status before')
  t.ok(machine.every((n) => n.execution === undefined && n.event === 'machine.status'))
  t.ok(machine.some((n) => n.status === 'full'), 'the machine was full at some point (cap 8)')

  t.equal(await client.xlen(keys.outbox), 0, 'outbox trimmed')
  t.same(await client.keys(`${keys.notifyQueuePrefix}*`), [], 'no delivered notification left in Redis')
  t.equal(Number(await client.hget(keys.notifyStats, 'delivered')) >= N * 3, true, 'delivered counter')

  // The first machine event ('idle' at start) waited for listen(): not counted.
  const burst = orch.arrivals.filter((a) => a.answered === 200 && a.body.seq > (a.body.event === 'machine.status' ? 1 : 0))
  report(t, 'burst of 100', burst)

  // The same, one execution at a time: latency without the start-up burst's CPU contention.
  const before = orch.arrivals.length
  for (let i = 0; i < 20; i++) {
    const id = `s-${i}`
    await startExecution(runner, { robot: 'ok', execution_id: id })
    await waitFor(`${id} succeeded notification`, () => accepted(orch).get(id)?.some((n) => n.status === 'succeeded'), 20_000, 20)
  }
  report(t, 'one at a time', orch.arrivals.slice(before).filter((a) => a.answered === 200))
})

function report (t: Test, what: string, arrivals: Arrival[]): void {
  for (const event of ['execution.status', 'machine.status']) {
    const ms = arrivals.filter((a) => a.body.event === event).map((a) => a.at - Date.parse(a.body.timestamp))
    if (ms.length > 0) t.comment(`${what}: ${event} delivery latency over ${ms.length}: median ${quantile(ms, 0.5)} ms, p99 ${quantile(ms, 0.99)} ms, max ${Math.max(...ms)} ms`)
  }
}
