// Gunicorn's worker timeout: a worker whose event loop does not answer the supervisor's
// heartbeat for worker_timeout_s is SIGKILLed and replaced. The worker is frozen for real
// with SIGSTOP: its event loop answers nothing, exactly like one stuck in a busy loop.
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline, alive } from './helpers/runner'
import { logged } from './helpers/logs'
import { waitFor } from './helpers/tmp'

for (const role of ['http', 'queue'] as const) {
  t.test(`a frozen ${role} worker is killed after worker_timeout_s and replaced`, async (t) => {
    const certs = makeCerts(t)
    const redis = await startRedis(t)
    const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { worker_timeout_s: 2 } })
    const log = path.join(runner.dir, 'logs', 'server.log')
    const title = `robotrunner: ${role} worker 1`
    const victim = runner.workerPids().find((pid) => cmdline(pid) === title)!
    const frozenAt = Date.now()
    process.kill(victim, 'SIGSTOP')
    await waitFor('the frozen worker gone', () => !alive(victim), 15_000, 20)
    const goneMs = Date.now() - frozenAt
    // On a loaded machine another worker may also miss a beat: take the victim's line.
    const killed = await waitFor('the kill logged', () => logged(log, 'did not answer for 2 s').find((l) => l.worker_pid === victim), 5000)
    const replacement = await waitFor('a replacement', () => runner.workerPids().find((pid) => pid !== victim && cmdline(pid) === title), 10_000)
    await waitFor('the replacement ready', () => logged(log, 'worker ready').some((l) => l.worker_pid === replacement), 10_000)
    t.comment(`frozen → killed after ${goneMs} ms (worker_timeout_s 2, heartbeat every 0.5 s)`)
    t.match(killed, { worker: `${role} worker 1`, worker_pid: victim })
    // lastHeartbeat may be up to one ping interval old when the worker froze.
    t.ok(goneMs >= 1400, `not killed before the timeout (${goneMs} ms)`)
    t.ok(goneMs < 10_000, `killed within a generous bound (${goneMs} ms)`)
    const status = (await runner.request({ path: '/api/status' })).json()
    t.same(status.workers, { http: 2, queue: 1 })
  })
}
