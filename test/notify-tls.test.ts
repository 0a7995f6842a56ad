// An orchestrator whose certificate does not chain to ca_cert gets nothing: the runner
// refuses the TLS handshake, retries with backoff, and logs the failure without secrets.
import fs from 'node:fs'
import t from 'tap'
import { makeKeys } from '../src/state/keys'
import { makeCerts } from './helpers/certs'
import { dualUseCerts, makeOrchestrator } from './helpers/orchestrator'
import { startRedis } from './helpers/redis'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { startRunner } from './helpers/runner'
import { waitFor } from './helpers/tmp'

const certs = dualUseCerts(makeCerts(t))
const otherCa = makeCerts(t)

t.test('orchestrator certificate from another CA: not delivered, retried, logged without secrets', async (t) => {
  const redis = await startRedis(t)
  const orch = await makeOrchestrator(t, { serverCerts: otherCa, clientCa: certs.ca })
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { notify_url: orch.url } })
  orch.token = runner.token
  await orch.listen()
  shRobot(runner, 'ok', 'exit 0')
  await startExecution(runner, { robot: 'ok', execution_id: 'tls-1' })
  await waitStatus(runner, 'tls-1', 'succeeded')

  const keys = makeKeys(runner.config.machine_id)
  const client = redis.client()
  await waitFor('3 handshakes (first try and retries)', () => orch.connections >= 3, 20_000)
  t.equal(orch.arrivals.length, 0, 'no request reached the orchestrator')
  t.ok(Number(await client.hget(keys.notifyStats, 'failed')) >= 3, 'failed attempts counted')
  t.equal(await client.hget(keys.notifyStats, 'delivered'), null, 'nothing counted as delivered')
  t.ok(await client.zcard(keys.notifyDue) >= 2, 'the notifications wait in Redis for a retry')

  const logFile = String(runner.config.log_file)
  const failing = (): string[] => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('notification delivery to notify_url failing'))
  // (An earlier warning may name ECONNREFUSED: the machine's first event was sent before listen().)
  const tlsLine = await waitFor('the delivery warning naming the certificate', () => failing().find((l) => /certificate/i.test(JSON.parse(l).error)), 15_000)
  const line = JSON.parse(tlsLine)
  t.equal(line.level, 40, 'a warning')
  t.comment(`logged: ${String(line.error)}`)
  const text = fs.readFileSync(logFile, 'utf8')
  t.notOk(text.includes(runner.token), 'the token is in no log line')
  t.notOk(text.includes(String(runner.config.license_key)), 'the license key is in no log line')
  t.notOk(failing().some((l) => l.includes('[REDACTED]')), 'nothing secret was even attempted in the notify lines')
})
