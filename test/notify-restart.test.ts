// Undelivered notifications survive a graceful stop, a SIGKILL of the whole runner
// process tree (also mid-delivery) and Redis restarts (AOF): the next runner on the same
// Redis delivers them.
import t, { type Test } from 'tap'
import { makeKeys } from '../src/state/keys'
import { makeCerts } from './helpers/certs'
import { accepted, dualUseCerts, makeOrchestrator } from './helpers/orchestrator'
import { startRedis, type TestRedis } from './helpers/redis'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { descendants, startRunner } from './helpers/runner'
import { waitFor } from './helpers/tmp'

const certs = dualUseCerts(makeCerts(t))
const N = 10

interface Scenario {
  /** the orchestrator accepts the POSTs and never answers: the kill lands mid-delivery */
  hang?: boolean
  between?: (redis: TestRedis) => Promise<void>
  /** stop the first runner gracefully instead of SIGKILLing its tree */
  term?: boolean
}

async function killedWithUndelivered (t: Test, { hang = false, between, term = false }: Scenario): Promise<void> {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: certs, clientCa: certs.ca })
  const first = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url } })
  orch.token = first.token
  if (hang) {
    orch.answer = 0
    await orch.listen()
  }
  shRobot(first, 'ok', 'exit 0')
  const ids = Array.from({ length: N }, (_, i) => `k-${i}`)
  for (const id of ids) await startExecution(first, { robot: 'ok', execution_id: id })
  for (const id of ids) await waitStatus(first, id, 'succeeded')
  const keys = makeKeys(first.config.machine_id)
  const client = redis.client()
  // Kill only once delivery was tried: failed attempts (down), or leased POSTs in flight (hang).
  if (hang) await waitFor('POSTs in flight', async () => orch.arrivals.length > 0 && await client.hlen(keys.notifyLease) > 0, 20_000)
  else await waitFor('failed delivery attempts', async () => Number(await client.hget(keys.notifyStats, 'failed')) >= 3, 20_000)
  t.ok(await client.zcard(keys.notifyDue) > N, 'undelivered notifications waiting in Redis')

  if (term) {
    t.same(await first.stop('SIGTERM'), { code: 0, signal: null }, 'stopped gracefully')
  } else {
    for (const pid of [first.pid, ...descendants(first.pid)]) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    t.same(await first.exited, { code: null, signal: 'SIGKILL' }, 'the whole tree SIGKILLed')
  }
  if (between !== undefined) await between(redis)

  // Same identity and Redis, fresh process tree; the orchestrator is back.
  const { machine_id: machineId, license_key: licenseKey, token } = first.config
  const second = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url, machine_id: machineId, license_key: licenseKey, token } })
  t.teardown(() => second.stop('SIGKILL'))
  if (hang) orch.answer = 200
  else await orch.listen()
  await waitFor('every status of every execution', () => ids.every((id) => accepted(orch).get(id)?.length === 3), 90_000, 200)
  const got = accepted(orch)
  t.equal(ids.filter((id) => got.get(id)!.map((n) => `${n.seq}:${n.status}`).join(' ') === '1:queued 2:running 3:succeeded').length, N,
    'every execution: queued, running, succeeded in seq order')
  const machine = got.get('machine') ?? []
  t.same(machine.map((n) => n.seq), machine.map((_, i) => i + 1), 'machine events of both runners in one seq order')
  t.ok(orch.arrivals.every((a) => a.signatureOk), 'signatures valid')
}

t.test('TERM with undelivered notifications: the restarted runner delivers them', async (t) => {
  await killedWithUndelivered(t, { term: true })
})

t.test('SIGKILL of the whole tree with undelivered notifications: the restarted runner delivers them', async (t) => {
  await killedWithUndelivered(t, {})
})

t.test('SIGKILL while POSTs are in flight (orchestrator not answering): delivered after the leases expire', async (t) => {
  await killedWithUndelivered(t, { hang: true })
})

t.test('SIGKILL, then Redis restarted (AOF), then the runner: still delivered', async (t) => {
  await killedWithUndelivered(t, {
    between: async (redis) => {
      await redis.restart()
      t.equal((await redis.client().keys('rr:*:notify:due')).length, 1, 'the notification queue came back from the AOF')
    }
  })
})

t.test('Redis restarted (AOF) under a running runner: the queued notifications are delivered', async (t) => {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: certs, clientCa: certs.ca })
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url } })
  orch.token = runner.token
  shRobot(runner, 'ok', 'exit 0')
  const ids = ['live-1', 'live-2', 'live-3']
  for (const id of ids) await startExecution(runner, { robot: 'ok', execution_id: id })
  for (const id of ids) await waitStatus(runner, id, 'succeeded')
  const keys = makeKeys(runner.config.machine_id)
  await waitFor('failed delivery attempts', async () => Number(await redis.client().hget(keys.notifyStats, 'failed')) >= 3, 20_000)
  await redis.restart()
  await orch.listen()
  await waitFor('every status of every execution', () => ids.every((id) => accepted(orch).get(id)?.length === 3), 90_000, 200)
  const got = accepted(orch)
  t.equal(ids.filter((id) => got.get(id)!.map((n) => `${n.seq}:${n.status}`).join(' ') === '1:queued 2:running 3:succeeded').length, ids.length,
    'every execution: queued, running, succeeded in seq order')
})
