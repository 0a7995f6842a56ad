// systemd notification: only the supervisor speaks, in the order systemd expects:
// READY=1 once every worker is ready, RELOADING=1 + MONOTONIC_USEC then READY=1 around a
// reload, WATCHDOG=1 every half WATCHDOG_USEC, STATUS= lines, STOPPING=1 on stop.
import path from 'node:path'
import t from 'tap'
import fs from 'node:fs'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { notifyReceiver } from './helpers/notify-socket'
import { logged } from './helpers/logs'
import { sleep, waitFor } from './helpers/tmp'

const monotonicUsec = (): bigint => process.hrtime.bigint() / 1000n

t.test('READY, RELOADING+MONOTONIC_USEC, READY, WATCHDOG, STOPPING in order', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const notify = notifyReceiver(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '1000000' } })
  const m = notify.messages
  await waitFor('READY=1', () => m.includes('READY=1'), 5000)
  await waitFor('STATUS with counts', () => m.includes('STATUS=http 2/2, queue 1/1 workers ready; 0 executions running'), 5000)

  const before = monotonicUsec()
  process.kill(runner.pid, 'SIGHUP')
  await waitFor('a second READY=1', () => m.filter((x) => x === 'READY=1').length === 2, 30_000)
  const after = monotonicUsec()
  const reloading = m.find((x) => x.startsWith('RELOADING=1'))!
  const usec = BigInt(/^MONOTONIC_USEC=(\d+)$/m.exec(reloading)![1])
  t.ok(usec >= before && usec <= after, 'MONOTONIC_USEC is CLOCK_MONOTONIC at the reload')
  t.ok(m.some((x) => x === 'STATUS=http 2/2, queue 1/1 workers ready; 0 executions running; reloading to generation 2'), 'STATUS says a reload runs')
  const secondReady = m.lastIndexOf('READY=1')
  await waitFor('WATCHDOG=1 after the reload', () => m.slice(secondReady).includes('WATCHDOG=1'), 5000)
  // the runner's own workers never got NOTIFY_SOCKET
  for (const pid of runner.workerPids()) t.notMatch(fs.readFileSync(`/proc/${pid}/environ`, 'utf8'), /NOTIFY_SOCKET|WATCHDOG_USEC/)

  const { code } = await runner.stop('SIGTERM')
  t.equal(code, 0)
  const kinds = m.map((x) => x.split('=')[0]).filter((k) => k !== 'STATUS')
  const order = ['READY', 'RELOADING', 'READY', 'WATCHDOG', 'STOPPING']
  let at = 0
  for (const k of kinds) if (k === order[at]) at++
  t.equal(at, order.length, `${order.join(', ')} appear in that order`)
  t.equal(kinds.filter((k) => k === 'STOPPING').length, 1)
  t.equal(kinds.indexOf('STOPPING'), kinds.lastIndexOf('STOPPING'))

  const watchdogs = kinds.filter((k) => k === 'WATCHDOG').length
  t.comment(`${watchdogs} WATCHDOG=1 over the run; messages: ${m.length}`)
  t.ok(watchdogs >= 3, 'WATCHDOG=1 sent repeatedly')
})

t.test('an invalid config at HUP shows in STATUS', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const notify = notifyReceiver(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, env: { NOTIFY_SOCKET: notify.path } })
  await waitFor('READY=1', () => notify.messages.includes('READY=1'), 5000)
  fs.writeFileSync(runner.configPath, JSON.stringify({ ...runner.config, http_workers: 'many' }))
  process.kill(runner.pid, 'SIGHUP')
  const status = await waitFor('STATUS says so', () => notify.messages.find((x) => x.startsWith('STATUS=') && x.includes('config invalid')), 10_000)
  t.match(status, /HUP ignored: http_workers \(file .*\): must be integer/)
  t.ok(notify.messages.filter((x) => x === 'READY=1').length === 2, 'READY=1 after RELOADING=1 even when nothing changed')
  t.notOk(notify.messages.some((x) => x.startsWith('WATCHDOG')), 'no WATCHDOG without WATCHDOG_USEC')
  await sleep(100)
  t.equal(logged(path.join(runner.dir, 'logs', 'server.log'), 'config reload rejected').length, 1)
})

t.test('NOTIFY_SOCKET that cannot be used: start fails loudly', async (t) => {
  const certs = makeCerts(t)
  const runner = await startRunner(t, { certs, env: { NOTIFY_SOCKET: '@robotrunner-test', WATCHDOG_USEC: '1000000' }, waitReady: false })
  const { code } = await runner.exited
  t.equal(code, 1)
  t.match(runner.stderr(), /NOTIFY_SOCKET=@robotrunner-test is an abstract socket.*WatchdogSec is set/)
})
