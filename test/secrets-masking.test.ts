// Secrets (API.md §3): `secrets` in the POST body reach the robot only as RR_SECRET_<NAME>;
// they are never returned by the API, are gone from Redis once the robot started
// (retries 0) or at the final status (retries > 0), and every occurrence of the value in
// the robot's output (plain, base64, URL-encoded, split across two writes) becomes *** in
// the log text, the SSE stream and the log file under data_dir.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type Redis from 'ioredis'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { addRobot, startExecution, waitStatus } from './helpers/robots'
import { openSse } from './helpers/sse'
import { sleep, tmpDir, waitFor } from './helpers/tmp'

const certs = makeCerts(t)
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()

// Characters URL-encoding changes (space / & = + : @), so the URL form differs from the plain one.
const SECRET = 's3cr3t value/123&x=y+z:@'
const b64 = (s: string): string => Buffer.from(s).toString('base64')
const FORMS: Record<string, string> = {
  plain: SECRET,
  base64: b64(SECRET),
  base64url: Buffer.from(SECRET).toString('base64url'),
  url: encodeURIComponent(SECRET), // = python urllib.parse.quote(v, safe='')
  urlplus: encodeURIComponent(SECRET).replace(/%20/g, '+'), // = python quote_plus
  firstHalf: SECRET.slice(0, Math.floor(SECRET.length / 2)),
  secondHalf: SECRET.slice(Math.floor(SECRET.length / 2))
}

/** Names of the forms of the secret found in text. */
function leaks (text: string): string[] {
  return Object.entries(FORMS).filter(([, f]) => text.includes(f)).map(([name]) => name)
}

/** Every key in the Redis db with its content, as one text per key. */
async function dumpRedis (client: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  let cursor = '0'
  let rounds = 0
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', '*', 'COUNT', 1000)
    cursor = next
    for (const key of keys) {
      const type = await client.type(key)
      let content: unknown
      switch (type) {
        case 'string': content = await client.get(key); break
        case 'hash': content = await client.hgetall(key); break
        case 'list': content = await client.lrange(key, 0, -1); break
        case 'set': content = await client.smembers(key); break
        case 'zset': content = await client.zrange(key, 0, -1, 'WITHSCORES'); break
        case 'stream': content = await client.xrange(key, '-', '+'); break
        default: content = `(${type})`
      }
      out.set(key, `${key} ${JSON.stringify(content)}`)
    }
  } while (cursor !== '0' && ++rounds < 10_000)
  return out
}

async function redisLeaks (client: Redis): Promise<Array<{ key: string, forms: string[] }>> {
  const found: Array<{ key: string, forms: string[] }> = []
  for (const [key, text] of await dumpRedis(client)) {
    const forms = leaks(text)
    if (forms.length > 0) found.push({ key, forms })
  }
  return found
}

t.test('secrets', async (t) => {
  const redis = await startRedis(t)
  const rc = redis.client()
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const prefix = `rr:${String(runner.config.machine_id)}:`
  const gate = tmpDir(t, 'rr-secret-gate')

  // Prints the secret in every form, then waits for the test's go-file (so Redis can be
  // inspected while it runs), then exits 0.
  addRobot(runner, 'leaky', { command: [PYTHON, 'robot.py'] }, {
    'robot.py': `
import base64, json, os, sys, time, urllib.parse
v = os.environ.get('RR_SECRET_API_KEY', '')
print('has-secret:%s' % (v != ''))
print('env-with-secret:%s' % ','.join(sorted(k for k, x in os.environ.items() if v and v in x)))
print('params-with-secret:%s' % (v in os.environ.get('RR_PARAMS', '') or v in open(os.environ['RR_PARAMS_FILE']).read()))
print('plain:' + v)
print('b64:' + base64.b64encode(v.encode()).decode())
print('b64url:' + base64.urlsafe_b64encode(v.encode()).decode())
print('url:' + urllib.parse.quote(v, safe=''))
print('urlplus:' + urllib.parse.quote_plus(v))
print('embedded:before' + v + 'after')
sys.stdout.flush()
half = len(v) // 2
sys.stdout.write('split:' + v[:half]); sys.stdout.flush(); time.sleep(0.3)
sys.stdout.write(v[half:] + ':end\\n'); sys.stdout.flush()
b = base64.b64encode(v.encode()).decode()
sys.stdout.write('split-b64:' + b[:10]); sys.stdout.flush(); time.sleep(0.3)
sys.stdout.write(b[10:] + '\\n'); sys.stdout.flush()
sys.stderr.write('stderr:' + v + '\\n'); sys.stderr.flush()
sys.stderr.write('stderr-split:' + v[:5]); sys.stderr.flush(); time.sleep(0.3)
sys.stderr.write(v[5:] + '\\n'); sys.stderr.flush()
print('printed-all'); sys.stdout.flush()
go = json.loads(os.environ['RR_PARAMS']).get('go')
deadline = time.time() + 30
while go and not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.05)
print('robot-done')
`
  })

  let execId = ''
  let postBody = ''

  await t.test('the robot gets the secret as RR_SECRET_API_KEY only; Redis no longer has it once the robot started (retries 0)', async (t) => {
    const go = path.join(gate, 'go-1')
    const res = await runner.request({ path: '/api/executions', body: { robot: 'leaky', params: { go }, secrets: { API_KEY: SECRET } } })
    t.equal(res.status, 202)
    postBody = res.body
    execId = res.json().id
    t.same(leaks(res.body), [], 'the POST response does not contain the secret')
    t.notOk('secrets' in res.json(), 'the record has no secrets field')

    await waitStatus(runner, execId, 'running')
    // wait until the robot printed everything (it then waits for the go-file)
    await waitFor('the robot to print everything', async () => {
      const log = (await runner.request({ path: `/api/executions/${execId}/logs` })).body
      return log.includes('printed-all')
    }, 20_000)
    const found = await redisLeaks(rc)
    t.same(found, [], `no Redis key holds the secret (in any form) while the robot runs: ${JSON.stringify(found)}`)
    t.equal(await rc.exists(`${prefix}secrets:${execId}`), 0, 'the secrets key is gone')

    fs.writeFileSync(go, '')
    const final = await waitStatus(runner, execId, ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled'], 40_000)
    t.equal(final.status, 'succeeded')

    const log = (await runner.request({ path: `/api/executions/${execId}/logs` })).body
    t.match(log, /has-secret:True/, 'the robot received the secret')
    t.match(log, /env-with-secret:RR_SECRET_API_KEY\n/, 'in RR_SECRET_API_KEY and in no other environment variable')
    t.match(log, /params-with-secret:False/, 'not in RR_PARAMS / RR_PARAMS_FILE')
  })

  await t.test('no form of the secret in GET logs, the SSE stream or the log file; *** instead', async (t) => {
    t.ok(execId !== '', 'needs the execution of the previous test')
    if (execId === '') return
    const log = (await runner.request({ path: `/api/executions/${execId}/logs` })).body
    t.same(leaks(log), [], `GET logs: no form of the secret\n${log}`)
    const lines = log.split('\n')
    for (const label of ['plain', 'b64', 'b64url', 'url', 'urlplus']) {
      const line = lines.find((l) => l.includes(` ${label}:`)) ?? ''
      t.match(line, new RegExp(` ${label}:\\*\\*\\*$`), `the ${label} line is masked: ${line}`)
    }
    t.ok(lines.some((l) => /embedded:before\*\*\*after$/.test(l)), 'a secret inside other text is masked in place')
    t.ok(lines.some((l) => / stderr:\*\*\*$/.test(l)), 'masked on stderr too')
    // The split writes: the halves must never appear; *** appears in their place.
    const afterSplit = log.slice(log.indexOf('split:'))
    t.match(afterSplit, /\*\*\*:end/, 'the value split across two writes is masked as a whole')
    t.match(log.slice(log.indexOf('split-b64:')), /\*\*\*/, 'the base64 value split across two writes is masked')
    t.match(log.slice(log.indexOf('stderr-split:')), /\*\*\*/, 'the value split on stderr is masked')
    t.ok(log.split('***').length - 1 >= 10, 'every occurrence became ***')

    const file = path.join(String(runner.config.data_dir), 'executions', execId, 'output.log')
    const fileText = fs.readFileSync(file, 'utf8')
    t.same(leaks(fileText), [], 'the log file under data_dir has no form of the secret')
    t.ok(fileText.includes('***'), 'and *** instead')

    const follow = await openSse({ port: runner.port, certs, token: runner.token, path: `/api/executions/${execId}/logs?follow=1` })
    const events = await follow.rest(30_000)
    t.same(leaks(follow.raw), [], 'the SSE stream has no form of the secret')
    t.ok(follow.raw.includes('***'), 'and *** instead')
    t.equal(events.at(-1)?.event, 'end')
  })

  await t.test('the secret is in no API response: POST, GET record, list, status', async (t) => {
    t.ok(execId !== '', 'needs the execution of the previous test')
    if (execId === '') return
    t.same(leaks(postBody), [], 'POST response')
    const rec = await runner.request({ path: `/api/executions/${execId}` })
    t.same(leaks(rec.body), [], 'GET record')
    t.notOk('secrets' in rec.json(), 'no secrets field in the record')
    const list = await runner.request({ path: '/api/executions' })
    t.same(leaks(list.body), [], 'list')
    const again = await runner.request({ path: '/api/executions?robot=leaky&limit=10' })
    t.same(leaks(again.body), [], 'filtered list')
    const status = await runner.request({ path: '/api/status' })
    t.same(leaks(status.body), [], 'status')
  })

  await t.test('retries 1: the secret stays while the execution may start again, gone at the final status', async (t) => {
    const go = path.join(gate, 'go-2')
    const rec = await startExecution(runner, { robot: 'leaky', params: { go }, retries: 1, secrets: { API_KEY: SECRET } })
    await waitStatus(runner, rec.id, 'running')
    t.equal(await rc.exists(`${prefix}secrets:${rec.id}`), 1, 'kept while running (a lost run is started again with it)')
    fs.writeFileSync(go, '')
    const final = await waitStatus(runner, rec.id, ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled'], 40_000)
    t.equal(final.status, 'succeeded')
    await sleep(100)
    const found = await redisLeaks(rc)
    t.same(found, [], `no Redis key holds the secret after the final status: ${JSON.stringify(found)}`)
    const log = (await runner.request({ path: `/api/executions/${rec.id}/logs` })).body
    t.same(leaks(log), [], 'log masked')
  })

  await t.test('observation (no assertion): the secret in Redis\'s append-only file on disk', async (t) => {
    const files: string[] = []
    const walk = (d: string): void => { for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name)) }
    walk(redis.dir)
    const hits = files.filter((f) => leaks(fs.readFileSync(f, 'latin1')).length > 0).map((f) => path.relative(redis.dir, f))
    t.comment(hits.length > 0
      ? `the secret is still on disk in ${hits.join(', ')} (the SET before the DEL stays in the AOF until it is rewritten)`
      : 'the secret is not in any file of the Redis dir')
    t.pass('observation recorded')
  })

  await t.test('the runner\'s own logs never contain the secret', async (t) => {
    const logs = path.join(runner.dir, 'logs')
    for (const name of fs.existsSync(logs) ? fs.readdirSync(logs) : []) {
      t.same(leaks(fs.readFileSync(path.join(logs, name), 'utf8')), [], `logs/${name}`)
    }
    t.same(leaks(runner.stdout() + runner.stderr()), [], 'supervisor stdout/stderr')
  })
})
