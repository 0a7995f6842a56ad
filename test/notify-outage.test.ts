// An orchestrator that is down (not listening) or answers 503 for a while: robots run
// on regardless, notifications are retried with backoff and all arrive once it answers,
// still in seq order per execution.
import t, { type Test } from 'tap'
import { makeCerts } from './helpers/certs'
import { accepted, dualUseCerts, makeOrchestrator, type Orchestrator } from './helpers/orchestrator'
import { startRedis } from './helpers/redis'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { startRunner, type Runner } from './helpers/runner'
import { sleep, waitFor } from './helpers/tmp'

const certs = dualUseCerts(makeCerts(t))
const N = 20

async function runAll (runner: Runner, prefix: string): Promise<string[]> {
  shRobot(runner, 'ok', 'exit 0')
  const ids = Array.from({ length: N }, (_, i) => `${prefix}-${i}`)
  for (const id of ids) await startExecution(runner, { robot: 'ok', execution_id: id })
  for (const id of ids) await waitStatus(runner, id, 'succeeded')
  return ids
}

async function allArrive (t: Test, orch: Orchestrator, ids: string[]): Promise<void> {
  await waitFor('every status of every execution', () => ids.every((id) => accepted(orch).get(id)?.length === 3), 90_000, 200)
  const got = accepted(orch)
  const inOrder = ids.filter((id) => got.get(id)!.map((n) => `${n.seq}:${n.status}`).join(' ') === '1:queued 2:running 3:succeeded')
  t.equal(inOrder.length, ids.length, 'queued, running, succeeded with seq 1, 2, 3 for every execution')
  const machine = got.get('machine') ?? []
  t.same(machine.map((n) => n.seq), machine.map((_, i) => i + 1), 'machine events in seq order')
  t.ok(orch.arrivals.every((a) => a.signatureOk), 'signatures valid')
}

t.test('orchestrator not listening for the first 5 s', async (t) => {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: certs, clientCa: certs.ca })
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url } })
  orch.token = runner.token
  const started = Date.now()
  const ids = await runAll(runner, 'down')
  t.pass(`all ${N} executions finished while the orchestrator was down`)
  await sleep(Math.max(0, 5000 - (Date.now() - started)))
  t.equal(orch.arrivals.length, 0, 'nothing arrived while down')
  const upAt = Date.now()
  await orch.listen()
  await allArrive(t, orch, ids)
  t.comment(`all delivered ${Date.now() - upAt} ms after the orchestrator came up`)
})

t.test('orchestrator answering 503 for 8 s', async (t) => {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: certs, clientCa: certs.ca })
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url } })
  orch.token = runner.token
  orch.answer = 503
  await orch.listen()
  const started = Date.now()
  const ids = await runAll(runner, 'busy')
  await sleep(Math.max(0, 8000 - (Date.now() - started)))
  orch.answer = 200
  await allArrive(t, orch, ids)

  const refused = orch.arrivals.filter((a) => a.answered === 503)
  t.ok(refused.length > 0, `${refused.length} attempts answered 503`)
  // Backoff: the retries of one notification are at least 1 s, 2 s, 4 s apart.
  const attempts = new Map<string, number[]>()
  for (const a of refused) attempts.set(a.body.id, [...attempts.get(a.body.id) ?? [], a.at])
  const most = [...attempts.values()].sort((a, b) => b.length - a.length)[0]
  t.ok(most.length >= 3, `one notification was tried ${most.length} times while refused`)
  const gaps = most.slice(1).map((at, i) => at - most[i])
  t.ok(gaps.every((gap, i) => gap >= 1000 * 2 ** i - 50), `retry gaps ${gaps.join(', ')} ms follow 1 s doubling`)
})
