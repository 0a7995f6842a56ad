// No secret (token, license key, Redis password) appears in any log or output after a
// run that used them all, including failed logins and a Redis outage.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { sleep } from './helpers/tmp'

function filesUnder (dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
}

t.test('secrets never reach logs, errors or output', async (t) => {
  const certs = makeCerts(t)
  const password = 'redis-pass-' + 'q7'.repeat(10)
  const redis = await startRedis(t, { password })
  const runner = await startRunner(t, {
    certs,
    redisUrl: `redis://:${password}@127.0.0.1:${redis.port}/0`,
    config: { log_level: 'trace' }
  })
  const secrets = [runner.token, String(runner.config.license_key), password]

  await runner.request({ path: '/api/status' })
  await runner.raw({ path: '/api/status', token: runner.token.slice(0, 40) })
  await runner.request({ path: '/api/status?token=' + runner.token }) // a client that leaks it in the URL is its own problem, but we still redact it
  await runner.request({ path: '/api/status', method: 'POST', body: '{"token": "' + runner.token + '"', headers: { 'content-type': 'application/json' } })
  await redis.stop() // errors while Redis is down
  await runner.raw({ path: '/ready', clientCerts: null })
  await runner.request({ path: '/api/status' })
  await sleep(500)
  await redis.restart()
  await runner.stop('SIGTERM')

  const files = filesUnder(runner.dir).filter((f) => !f.endsWith('config.json'))
  t.ok(files.some((f) => f.endsWith('server.log')), 'the app log exists')
  t.ok(files.some((f) => f.endsWith('access.log')), 'the access log exists')
  const texts: Array<[string, string]> = files.map((f) => [f, fs.readFileSync(f, 'utf8')])
  texts.push(['stdout', runner.stdout()], ['stderr', runner.stderr()])
  for (const [name, text] of texts) {
    for (const secret of secrets) t.notOk(text.includes(secret), `${path.basename(name)} has no secret`)
  }
  t.match(texts.find(([f]) => f.endsWith('access.log'))![1], /\[REDACTED\]/, 'the token in the URL was blanked')
})
