// USR1 (what config/logrotate sends after moving the files): every process reopens its
// log files, so new lines go to new files and none to the moved ones.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { readLog } from './helpers/logs'
import { sleep, waitFor } from './helpers/tmp'

t.test('USR1 after moving the log files: new files are written', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const logs = path.join(runner.dir, 'logs')
  for (let i = 0; i < 5; i++) await runner.request({ path: '/api/status' })
  await waitFor('access lines written', () => readLog(path.join(logs, 'access.log')).length >= 5, 5000)
  fs.renameSync(path.join(logs, 'server.log'), path.join(logs, 'server.log.1'))
  fs.renameSync(path.join(logs, 'access.log'), path.join(logs, 'access.log.1'))

  process.kill(runner.pid, 'SIGUSR1')
  // the supervisor and all three workers say so in the new file
  await waitFor('every process reopened', () => readLog(path.join(logs, 'server.log')).filter((l) => l.msg === 'log files reopened').length === 4, 10_000)
  const oldAccess = readLog(path.join(logs, 'access.log.1')).length
  for (let i = 0; i < 10; i++) t.equal((await runner.request({ path: `/api/status?i=${i}` })).status, 200)
  await waitFor('10 lines in the new access.log', () => readLog(path.join(logs, 'access.log')).length === 10, 5000)
  await sleep(300)
  t.equal(readLog(path.join(logs, 'access.log.1')).length, oldAccess, 'nothing more in the moved access log')
  t.same(readLog(path.join(logs, 'access.log')).map((l) => l.url).sort(), Array.from({ length: 10 }, (_, i) => `/api/status?i=${i}`).sort())
  const roles = readLog(path.join(logs, 'server.log')).filter((l) => l.msg === 'log files reopened').map((l) => l.role).sort()
  t.same(roles, ['http', 'http', 'queue', 'supervisor'])
})
