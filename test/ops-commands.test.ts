// `robotrunner status|reload|stop` find the supervisor through the pidfile.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, cleanTapEnv, nodeCommand, MAIN, alive } from './helpers/runner'
import { waitFor } from './helpers/tmp'

function cli (args: string[], cwd: string): Promise<{ code: number | null, out: string, err: string }> {
  return new Promise((resolve) => {
    const env = cleanTapEnv({ ...process.env })
    for (const k of Object.keys(env)) if (k.startsWith('RR_')) delete env[k]
    const child = spawn(...nodeCommand([MAIN, ...args]), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    child.once('exit', (code) => resolve({ code, out, err }))
  })
}

t.test('status, reload and stop through the pidfile', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const pidfile = 'run/robotrunner.pid'
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { pidfile } })
  const conf = ['--config', runner.configPath]

  const status = await cli(['status', ...conf], runner.dir)
  t.equal(status.code, 0, 'running and ready')
  t.match(status.out, new RegExp(`supervisor pid ${runner.pid}`))
  t.match(status.out, /http worker 1\s+pid \d+\n.*http worker 2\s+pid \d+\n.*queue worker 1\s+pid \d+/)
  t.match(status.out, /\/ready: 200 ready/)

  const before = runner.workerPids()
  fs.writeFileSync(runner.configPath, JSON.stringify({ ...runner.config, pidfile, port: -1 }))
  const refused = await cli(['reload', ...conf], runner.dir)
  t.equal(refused.code, 78, 'an invalid config is reported, no HUP sent')
  t.match(refused.err, /config error: port .*must be >= 0/)
  fs.writeFileSync(runner.configPath, JSON.stringify({ ...runner.config, pidfile }))
  const reload = await cli(['reload', ...conf], runner.dir)
  t.equal(reload.code, 0)
  t.match(reload.out, new RegExp(`HUP sent to supervisor ${runner.pid}`))
  await waitFor('every worker replaced', () => before.every((pid) => !alive(pid)) && runner.workerPids().length === 3, 30_000)

  const stop = await cli(['stop', ...conf], runner.dir)
  t.equal(stop.code, 0)
  t.match(stop.out, /graceful stop of supervisor \d+[\s\S]*stopped/)
  t.same(await runner.exited, { code: 0, signal: null })
  t.notOk(fs.existsSync(path.join(runner.dir, pidfile)), 'pidfile removed')

  const after = await cli(['status', ...conf], runner.dir)
  t.equal(after.code, 3)
  t.match(after.out, /not running/)
  t.equal((await cli(['stop', ...conf], runner.dir)).code, 3)
})
