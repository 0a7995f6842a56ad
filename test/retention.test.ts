// Retention removes finished executions beyond max_executions: record, log stream and
// folder together; queued and running ones are never touched.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { tmpDir, waitFor } from './helpers/tmp'

t.test('max_executions: the oldest finished ones go, with their logs and folders', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { retention: { max_executions: 3, max_age_days: 30 } } })
  const out = tmpDir(t)
  shRobot(runner, 'quick', 'echo hi')
  shRobot(runner, 'hold', `while [ ! -f ${out}/go ]; do sleep 0.05; done`)
  const holder = await startExecution(runner, { robot: 'hold', execution_id: 'holder' })
  await waitStatus(runner, holder.id, 'running')
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    ids.push((await startExecution(runner, { robot: 'quick', execution_id: `q${i}` })).id)
    await waitStatus(runner, `q${i}`, 'succeeded')
  }
  const dataDir = String(runner.config.data_dir)
  const client = redis.client()
  const prefix = `rr:${runner.config.machine_id}:`
  await waitFor('pruned to 3', async () => {
    const res = await runner.request({ path: '/api/executions?limit=100' })
    return res.json().items.length === 3
  }, 30_000, 200)
  const left = (await runner.request({ path: '/api/executions?limit=100' })).json().items.map((r: { id: string }) => r.id)
  t.same(left, ['q4', 'q3', 'holder'], 'newest finished kept, the running one untouched')
  for (const gone of ['q0', 'q1', 'q2']) {
    t.equal((await runner.request({ path: `/api/executions/${gone}` })).status, 404, `${gone} record gone`)
    t.equal(await client.exists(`${prefix}log:${gone}`), 0, `${gone} log stream gone`)
    t.notOk(fs.existsSync(path.join(dataDir, 'executions', gone)), `${gone} folder gone`)
  }
  t.ok(fs.existsSync(path.join(dataDir, 'executions', 'q4', 'output.log')), 'kept ones keep their log')
  fs.writeFileSync(path.join(out, 'go'), '')
  await waitStatus(runner, holder.id, 'succeeded')
})
