// notify_on_status_change: false sends nothing, even with notify_url set, and leaves no
// outbox in Redis.
import t from 'tap'
import { makeKeys } from '../src/state/keys'
import { makeCerts } from './helpers/certs'
import { dualUseCerts, makeOrchestrator } from './helpers/orchestrator'
import { startRedis } from './helpers/redis'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { startRunner } from './helpers/runner'
import { sleep } from './helpers/tmp'

const certs = dualUseCerts(makeCerts(t))

t.test('notify_on_status_change false: nothing sent', async (t) => {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: certs, clientCa: certs.ca })
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url, notify_on_status_change: false } })
  orch.token = runner.token
  await orch.listen()
  shRobot(runner, 'ok', 'exit 0')
  for (const id of ['off-1', 'off-2', 'off-3']) await startExecution(runner, { robot: 'ok', execution_id: id })
  for (const id of ['off-1', 'off-2', 'off-3']) await waitStatus(runner, id, 'succeeded')
  await sleep(2000)
  t.equal(orch.connections, 0, 'no connection to the orchestrator')
  const keys = makeKeys(runner.config.machine_id)
  const client = redis.client()
  t.equal(await client.xlen(keys.outbox), 0, 'no outbox entries')
  t.same(await client.keys(`${keys.prefix}notify:*`), [], 'no notification queue')
})
