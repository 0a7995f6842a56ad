// Crash loop: a worker that exits at start is replaced with exponential backoff
// (0.1 s doubling, 30 s cap, reset after 60 s healthy), logged once per backoff step, and
// shown in /ready and the workers view. The real loop is measured for its first steps;
// the cap and the reset, which take minutes of real time, are checked on the slot itself.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline } from './helpers/runner'
import { readLog } from './helpers/logs'
import { waitFor } from './helpers/tmp'
import { Slot, BACKOFF_MAX_MS, HEALTHY_RESET_MS } from '../cluster/slot'

t.test('a worker failing at start: backoff delays measured', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { log_level: 'debug', http_workers: 2 } })
  const log = path.join(runner.dir, 'logs', 'server.log')
  // From now on a new http worker cannot read its certificate and exits 78 at start.
  fs.renameSync(certs.cert, `${certs.cert}.away`)
  const victim = runner.workerPids().find((pid) => cmdline(pid) === 'robotrunner: http worker 1')!
  process.kill(victim, 'SIGKILL')
  const lines = (): ReturnType<typeof readLog> => readLog(log).filter((l) => l.worker === 'http worker 1' && l.role === 'supervisor')
  await waitFor('7 exits of http worker 1', () => lines().filter((l) => l.exit !== undefined).length >= 7, 30_000, 100)

  const ready = await runner.raw({ path: '/ready', clientCerts: null })
  t.equal(ready.status, 503, '/ready says degraded')
  t.match(ready.json().checks.workers, /http worker 1 crash loop \(restarts \d+, last exit code 78, .*cert_file: cannot read/)
  const view = (await runner.request({ path: '/api/workers' })).json()
  t.match(view.workers.find((w: { slot: number, role: string }) => w.role === 'http' && w.slot === 1), { crash_loop: true, last_exit: 'code 78' })
  t.equal((await runner.request({ path: '/api/status' })).status, 200, 'the other worker serves')

  // delay = next spawn - previous exit, against the retry_in_ms the exit line announced
  const events = lines().filter((l) => l.msg === 'worker spawned' || l.exit !== undefined)
  const delays: Array<[number, number]> = []
  for (let i = 0; i + 1 < events.length; i++) {
    if (events[i].exit !== undefined && events[i + 1].msg === 'worker spawned') delays.push([events[i].retry_in_ms, Date.parse(events[i + 1].time) - Date.parse(events[i].time)])
  }
  t.comment(`announced → measured delay (ms): ${delays.map(([a, m]) => `${a}→${m}`).join(', ')}`)
  t.same(delays.slice(0, 6).map(([a]) => a), [100, 200, 400, 800, 1600, 3200], 'doubling from 0.1 s')
  for (const [announced, measured] of delays.slice(0, 6)) {
    t.ok(measured >= announced - 5 && measured < announced + 2000, `waited ${measured} ms for ${announced} ms`)
  }
  const logged = lines().filter((l) => l.level >= 50 && l.exit !== undefined)
  t.equal(logged.length, new Set(logged.map((l) => l.retry_in_ms)).size, 'one error line per backoff step')
  t.ok(logged.some((l) => /crash loop/.test(l.msg)), 'called a crash loop')

  fs.renameSync(`${certs.cert}.away`, certs.cert)
  await waitFor('http worker 1 back', async () => (await runner.request({ path: '/api/status' })).json().workers.http === 2, 15_000, 200)
  t.pass('recovers once the certificate is back')
})

t.test('backoff schedule: capped at 30 s, logged per step, reset after 60 s healthy', (t) => {
  const slot = new Slot('http', 1, 1)
  const fakeWorker = { process: { pid: 1 } } as never
  let now = 0
  const delays: number[] = []
  const newSteps: boolean[] = []
  for (let i = 0; i < 12; i++) {
    slot.spawned(fakeWorker, now)
    const out = slot.exited(now + 10, 'code 1', true)
    delays.push(slot.backoffMs)
    newSteps.push(out.newStep)
    now = slot.retryAt
  }
  t.same(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000])
  t.equal(Math.max(...delays), BACKOFF_MAX_MS)
  t.same(newSteps, [true, true, true, true, true, true, true, true, true, true, false, false], 'at the cap, further crashes are not new steps')
  t.ok(slot.crashLoop)
  slot.spawned(fakeWorker, now)
  slot.ready(now + 500)
  t.notOk(slot.checkHealthy(now + 500 + HEALTHY_RESET_MS - 1), 'not healthy before 60 s')
  t.ok(slot.checkHealthy(now + 500 + HEALTHY_RESET_MS), 'healthy after 60 s ready')
  t.notOk(slot.crashLoop)
  slot.exited(now + 70_000, 'signal SIGKILL', true)
  t.equal(slot.backoffMs, 100, 'starts over at 0.1 s')
  t.end()
})
