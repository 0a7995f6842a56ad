// HUP under load from a second process: a rolling reload fails no request and replaces
// every worker; an invalid config or new workers that cannot start leave the old
// generation serving; new certificate files are served after the reload.
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { makeCerts, type Certs } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cmdline, alive, type Runner } from './helpers/runner'
import { startLoad, type LoadSummary } from './helpers/load'
import { logged, waitLogged } from './helpers/logs'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { sleep, tmpDir, waitFor } from './helpers/tmp'

// rate limit out of the way: the load is one client certificate.
const LOAD_CONFIG = { rate_limit: { max: 1e9, time_window_ms: 60000 }, graceful_timeout_s: 10 }

function report (t: { comment: (...args: unknown[]) => void }, what: string, s: LoadSummary): void {
  t.comment(`${what}: ${s.requests} requests, ${s.failed} failed, ${s.connectionClose} answered with Connection: close, ` +
    `${((s.endedAt - s.startedAt) / 1000).toFixed(1)} s, latency p50 ${s.latencyMs.p50} ms p99 ${s.latencyMs.p99} ms max ${s.latencyMs.max} ms`)
  if (s.failed > 0) t.comment(JSON.stringify(s.failures.slice(0, 10)))
}

const logFile = (r: Runner): string => path.join(r.dir, 'logs', 'server.log')

t.test('HUP under load: zero failed requests, every worker replaced', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: LOAD_CONFIG })
  const before = runner.workerPids()
  t.equal(before.length, 3)
  const load = startLoad(t, runner, certs, { durationMs: 12_000 })
  await sleep(3000)
  const hupAt = Date.now()
  process.kill(runner.pid, 'SIGHUP')
  await waitFor('every old worker gone and 3 new ones', () => {
    const now = runner.workerPids()
    return before.every((pid) => !alive(pid)) && now.length === 3 && now.every((pid) => !before.includes(pid))
  }, 30_000, 20)
  const replacedMs = Date.now() - hupAt
  const summary = await load.done
  const [complete] = logged(logFile(runner), 'reload complete')
  report(t, 'HUP under load', summary)
  t.comment(`reload: new generation serving after ${String(complete?.ms)} ms (supervisor), every old pid gone after ${replacedMs} ms`)
  t.ok(summary.requests > 500, `steady load (${summary.requests} requests)`)
  t.equal(summary.failed, 0, 'no request failed')
  t.ok(complete !== undefined && complete.generation === 2, 'reload completed to generation 2')
  const after = runner.workerPids()
  t.same(after.map(cmdline).sort(), ['robotrunner: http worker 1', 'robotrunner: http worker 2', 'robotrunner: queue worker 1'])
  t.ok(after.every((pid) => !before.includes(pid)), 'every pid replaced')
  const workers = (await runner.request({ path: '/api/workers' })).json()
  t.same(workers.workers.map((w: { generation: number, state: string }) => [w.generation, w.state]), [[2, 'ready'], [2, 'ready'], [2, 'ready']])
  t.equal((await runner.raw({ path: '/ready', clientCerts: null })).status, 200)
})

t.test('HUP with an invalid config: zero failed requests, the old workers keep serving', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: LOAD_CONFIG })
  const before = runner.workerPids().sort()
  const load = startLoad(t, runner, certs, { durationMs: 10_000 })
  await sleep(2000)
  fs.writeFileSync(runner.configPath, JSON.stringify({ ...runner.config, port: 70000 }))
  process.kill(runner.pid, 'SIGHUP')
  const rejected = await waitLogged(logFile(runner), 'config reload rejected', 10_000)
  const summary = await load.done
  report(t, 'HUP with invalid config under load', summary)
  t.match(rejected.msg, /port \(file .*config\.json\): must be <= 65535/, 'logged with key and reason')
  t.equal(summary.failed, 0, 'no request failed')
  t.same(runner.workerPids().sort(), before, 'the same workers serve')
  t.equal((await runner.request({ path: '/api/status' })).status, 200)
})

t.test('HUP whose new workers cannot start: reload abandoned, old generation serving', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: LOAD_CONFIG })
  const before = runner.workerPids().sort()
  const load = startLoad(t, runner, certs, { durationMs: 8000 })
  await sleep(2000)
  // Readable (the config check passes) but not a certificate: only a started worker finds out.
  const good = fs.readFileSync(certs.cert)
  fs.writeFileSync(certs.cert, 'not a certificate\n')
  process.kill(runner.pid, 'SIGHUP')
  const abandoned = await waitLogged(logFile(runner), 'abandoned', 20_000)
  fs.writeFileSync(certs.cert, good)
  const summary = await load.done
  report(t, 'HUP with unstartable workers under load', summary)
  t.match(abandoned.msg, /reload to generation 2 abandoned: new http worker \d exited \(code 78\) before it was ready: cert_file: .* is not a PEM certificate.*generation 1 keeps serving/)
  t.equal(summary.failed, 0, 'no request failed')
  await waitFor('no candidate left', () => runner.workerPids().length === 3, 10_000)
  t.same(runner.workerPids().sort(), before, 'the old workers serve')
  const status = (await runner.request({ path: '/api/status' })).json()
  t.same(status.workers, { http: 2, queue: 1 })
})

t.test('certificate files replaced, then HUP: new connections see the new certificate', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: LOAD_CONFIG })
  const oldFingerprint = await servedFingerprint(runner.port, certs)
  t.equal(oldFingerprint, new X509Certificate(fs.readFileSync(certs.cert)).fingerprint256)
  const load = startLoad(t, runner, certs, { durationMs: 8000 })
  await sleep(2000)
  const next = reissue(certs)
  process.kill(runner.pid, 'SIGHUP')
  await waitFor('reload complete', () => logged(logFile(runner), 'reload complete').length > 0, 30_000)
  const summary = await load.done
  report(t, 'certificate rotation under load', summary)
  t.equal(summary.failed, 0, 'no request failed')
  t.not(next, oldFingerprint)
  for (let i = 0; i < 6; i++) t.equal(await servedFingerprint(runner.port, certs), next, `new connection ${i + 1} sees the new certificate`)
  const status = (await runner.request({ path: '/api/status' })).json()
  t.equal(status.certificate.not_after, new Date(new X509Certificate(fs.readFileSync(certs.cert)).validTo).toISOString())
})

/** A new server certificate and key from the same CA, written over cert.pem and key.pem. */
function reissue (certs: Certs): string {
  const dir = path.dirname(certs.cert)
  const run = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }) }
  run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'new-key.pem')
  run('req', '-new', '-key', 'new-key.pem', '-subj', '/CN=localhost', '-out', 'new.csr')
  fs.writeFileSync(path.join(dir, 'new.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n')
  run('x509', '-req', '-in', 'new.csr', '-CA', 'ca-cert.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '10', '-sha256', '-extfile', 'new.ext', '-out', 'new-cert.pem')
  // Replace the key first, then the certificate, each atomically, as a deploy tool would.
  fs.renameSync(path.join(dir, 'new-key.pem'), certs.key)
  fs.renameSync(path.join(dir, 'new-cert.pem'), certs.cert)
  return new X509Certificate(fs.readFileSync(certs.cert)).fingerprint256
}

function servedFingerprint (port: number, certs: Certs): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}

t.test('HUP while a robot runs: the robot is not interrupted and finishes succeeded', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  // Short graceful/cancel times: an old queue worker drained for a reload must not use them.
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { graceful_timeout_s: 1, cancel_grace_s: 1 } })
  const out = tmpDir(t)
  shRobot(runner, 'long', `trap 'echo signalled >> ${out}/log' TERM INT HUP; while [ ! -f ${out}/go ]; do sleep 0.05; done; echo finished >> ${out}/log`)
  shRobot(runner, 'quick', 'true')
  const oldQueue = runner.workerPids().find((pid) => cmdline(pid) === 'robotrunner: queue worker 1')!
  const first = await startExecution(runner, { robot: 'long' })
  const running = await waitStatus(runner, first.id, 'running')
  t.equal(running.worker_pid, oldQueue)

  process.kill(runner.pid, 'SIGHUP')
  await waitFor('reload complete', () => logged(logFile(runner), 'reload complete').length > 0, 30_000)
  const newQueue = await waitFor('a new queue worker', () => runner.workerPids().find((pid) => cmdline(pid) === 'robotrunner: queue worker 1'), 10_000)
  t.not(newQueue, oldQueue)
  t.equal(cmdline(oldQueue), 'robotrunner: queue worker 1 (old)', 'the old one drains, titled so')
  const second = await startExecution(runner, { robot: 'quick' })
  const quick = await waitStatus(runner, second.id, 'succeeded')
  t.equal(quick.worker_pid, newQueue, 'new work goes to the new generation')

  await sleep(4000) // well past graceful_timeout_s + cancel_grace_s
  t.ok(alive(oldQueue), 'the old queue worker waits for its robot, with no deadline')
  t.equal((await runner.request({ path: `/api/executions/${first.id}` })).json().status, 'running')
  fs.writeFileSync(path.join(out, 'go'), '')
  const done = await waitStatus(runner, first.id, 'succeeded')
  t.equal(done.worker_pid, oldQueue)
  t.equal(fs.readFileSync(path.join(out, 'log'), 'utf8'), 'finished\n', 'never signalled')
  await waitFor('the old queue worker exits once its robot ended', () => !alive(oldQueue), 10_000)
})
