// POST /api/executions input validation and GET /api/executions listing (API.md §2, §3):
// bad bodies → 400 RR_VALIDATION naming the field and nothing enqueued (nor run); unknown
// robot → 404; invalid manifest → listed with valid:false and its error, POST → 422;
// non-JSON → 400 RR_BAD_JSON; list filters, limit and cursor pagination (newest first, no
// duplicates, nothing missed); unknown id → 404.
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { addRobot, shRobot, startExecution, waitStatus } from './helpers/robots'
import { sleep, tmpDir, waitFor } from './helpers/tmp'

const certs = makeCerts(t)

t.test('executions API validation and listing', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const marks = tmpDir(t, 'rr-marks')
  const ranFile = path.join(marks, 'ran')
  // 'ok' leaves a trace when it runs, so a bad body that started it anyway is caught.
  shRobot(runner, 'ok', 'echo ran >> "$MARK"', { env: { MARK: ranFile } })
  shRobot(runner, 'fails', 'exit 3')

  const post = (body: unknown, headers?: Record<string, string>) => runner.request({ path: '/api/executions', method: 'POST', body, headers })
  const nothingQueued = async (t: Test, what: string): Promise<void> => {
    const list = await runner.request({ path: '/api/executions' })
    t.equal(list.status, 200)
    t.same(list.json().items, [], `${what}: GET /api/executions is still empty`)
    const status = (await runner.request({ path: '/api/status' })).json()
    t.equal(status.queued, 0, `${what}: /api/status queued 0`)
    t.same(status.running, [], `${what}: /api/status running []`)
  }

  await t.test('bad bodies: 400 RR_VALIDATION naming the field, nothing enqueued, nothing run', async (t) => {
    const cases: Array<[string, unknown, string]> = [
      ['robot is a number', { robot: 5 }, 'robot'],
      ['robot missing', {}, 'robot'],
      ['timeout_s is a string', { robot: 'ok', timeout_s: '5' }, 'timeout_s'],
      ['timeout_s not an integer', { robot: 'ok', timeout_s: 1.5 }, 'timeout_s'],
      ['timeout_s zero', { robot: 'ok', timeout_s: 0 }, 'timeout_s'],
      ['params is an array', { robot: 'ok', params: [] }, 'params'],
      ['params is a string', { robot: 'ok', params: 'a=1' }, 'params'],
      ['params is null', { robot: 'ok', params: null }, 'params'],
      ['priority not high/normal', { robot: 'ok', priority: 'urgent' }, 'priority'],
      ['retries negative', { robot: 'ok', retries: -1 }, 'retries'],
      ['retries a string', { robot: 'ok', retries: '1' }, 'retries'],
      ['extra field', { robot: 'ok', extra: 1 }, 'extra'],
      ['extra field (typo of params)', { robot: 'ok', param: { a: 1 } }, 'param'],
      ['oversized params (> 64 KiB of JSON)', { robot: 'ok', params: { pad: 'x'.repeat(70_000) } }, 'params'],
      ['robot name with ..', { robot: '../x' }, 'robot'],
      ['robot name starting with -', { robot: '-x' }, 'robot'],
      ['robot name with a space', { robot: 'a b' }, 'robot'],
      ['robot name with a slash', { robot: 'a/b' }, 'robot'],
      ['robot name empty', { robot: '' }, 'robot'],
      ['robot name too long', { robot: 'a'.repeat(129) }, 'robot'],
      ['execution_id with ..', { robot: 'ok', execution_id: '../x' }, 'execution_id'],
      ['execution_id starting with -', { robot: 'ok', execution_id: '-x' }, 'execution_id'],
      ['execution_id with a space', { robot: 'ok', execution_id: 'a b' }, 'execution_id'],
      ['execution_id too long', { robot: 'ok', execution_id: 'a'.repeat(129) }, 'execution_id'],
      ['execution_id a number', { robot: 'ok', execution_id: 12 }, 'execution_id'],
      ['secrets with a bad name', { robot: 'ok', secrets: { 'bad-name': 'v' } }, 'secrets'],
      ['secrets with a non-string value', { robot: 'ok', secrets: { GOOD: 5 } }, 'secrets'],
      ['secrets is an array', { robot: 'ok', secrets: ['a'] }, 'secrets'],
      ['body is an array', [{ robot: 'ok' }], 'body']
    ]
    for (const [what, body, field] of cases) {
      const res = await post(body)
      let err: { code?: string, message?: string, details?: { field?: string } } = {}
      try { err = res.json().error ?? {} } catch { /* not JSON: the assertions below say so */ }
      t.equal(res.status, 400, `${what}: 400 (got ${res.status} ${res.body.slice(0, 300)})`)
      t.equal(err.code, 'RR_VALIDATION', `${what}: RR_VALIDATION`)
      t.match(String(err.message), new RegExp(`\\b${field}\\b`), `${what}: the message names "${field}": ${String(err.message)}`)
      if (field !== 'body') t.match(String(err.details?.field ?? ''), new RegExp(`\\b${field}\\b`), `${what}: details.field is ${field}: ${JSON.stringify(err.details?.field)}`)
    }
    await nothingQueued(t, 'after the bad bodies')
    await sleep(1500) // longer than the dispatcher's poll
    t.notOk(fs.existsSync(ranFile), 'the robot never ran')
  })

  /** executions of 'ok' accepted outside the listing test (a deep-params body that got a 202) */
  const extraIds: string[] = []

  await t.test('deeply nested params (under 64 KiB): a clean answer (400 naming params, or 202), never a 500', async (t) => {
    const depth = 5000
    const raw = `{"robot":"ok","params":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`
    t.ok(Buffer.byteLength(raw) < 64 * 1024, `the body is ${Buffer.byteLength(raw)} bytes`)
    const res = await post(raw, { 'content-type': 'application/json' })
    t.ok(res.status === 400 || res.status === 202, `400 or 202 (got ${res.status} ${res.body.slice(0, 200)})`)
    if (res.status === 400) {
      t.equal(res.json().error?.code, 'RR_VALIDATION')
      t.match(res.json().error?.message, /params/)
    }
    if (res.status !== 202) await nothingQueued(t, 'after the deeply nested params')
    else extraIds.push((await waitStatus(runner, res.json().id, ['succeeded', 'failed', 'lost'], 30_000)).id)
    // for the diagnosis of a 500: what the worker logged
    await sleep(300)
    const logFile = String(runner.config.log_file)
    const errors = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('request failed')) : []
    if (res.status >= 500 && errors.length > 0) t.comment(`server log: ${errors.at(-1)!.slice(0, 700)}`)
    t.equal((await runner.request({ path: '/api/status' })).status, 200, 'the HTTP workers still answer')
  })

  await t.test('not JSON: 400 RR_BAD_JSON; not application/json: 415', async (t) => {
    for (const [what, payload] of [['truncated JSON', '{"robot": '], ['garbage', 'robot=ok'], ['empty body', '']] as const) {
      const res = await post(payload, { 'content-type': 'application/json' })
      t.equal(res.status, 400, `${what}: 400 (got ${res.status} ${res.body})`)
      t.equal(res.json().error?.code, 'RR_BAD_JSON', `${what}: RR_BAD_JSON`)
    }
    const form = await post('robot=ok', { 'content-type': 'application/x-www-form-urlencoded' })
    t.equal(form.status, 415, `form-encoded: 415 (got ${form.status} ${form.body})`)
    t.equal(form.json().error?.code, 'RR_UNSUPPORTED_MEDIA_TYPE')
    await nothingQueued(t, 'after the non-JSON bodies')
  })

  await t.test('unknown robot: 404 RR_ROBOT_NOT_FOUND', async (t) => {
    const res = await post({ robot: 'ghost' })
    t.equal(res.status, 404)
    t.equal(res.json().error?.code, 'RR_ROBOT_NOT_FOUND')
    // a folder without robot.json is not a robot either
    fs.mkdirSync(path.join(String(runner.config.robots_dir), 'empty-folder'), { recursive: true })
    const empty = await post({ robot: 'empty-folder' })
    t.equal(empty.status, 404)
    t.equal(empty.json().error?.code, 'RR_ROBOT_NOT_FOUND')
    await nothingQueued(t, 'after unknown robots')
  })

  await t.test('invalid manifests: GET /api/robots shows them with valid:false and an error; POST → 422 RR_ROBOT_INVALID', async (t) => {
    addRobot(runner, 'bad-command', { command: 'echo hi' })
    addRobot(runner, 'bad-key', { command: ['true'], tiemout_s: 5 })
    addRobot(runner, 'bad-empty-command', { command: [] })
    const dir = path.join(String(runner.config.robots_dir), 'bad-json')
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'robot.json'), '{"command": ["true"],')

    const res = await runner.request({ path: '/api/robots' })
    t.equal(res.status, 200)
    const robots = res.json().robots as Array<{ name: string, valid: boolean, error?: string, command?: string[] }>
    const byName = new Map(robots.map((r) => [r.name, r]))
    t.match(byName.get('ok'), { valid: true, command: ['/bin/sh', '-c', 'echo ran >> "$MARK"'] }, 'a valid robot with its manifest fields')
    for (const name of ['bad-command', 'bad-key', 'bad-empty-command', 'bad-json']) {
      const r = byName.get(name)
      t.equal(r?.valid, false, `${name}: valid false`)
      t.ok(typeof r?.error === 'string' && r.error.length > 0, `${name}: error: ${String(r?.error)}`)
      const start = await post({ robot: name })
      t.equal(start.status, 422, `${name}: POST 422 (got ${start.status} ${start.body})`)
      t.equal(start.json().error?.code, 'RR_ROBOT_INVALID')
    }
    t.match(byName.get('bad-key')?.error, /tiemout_s|additional/, 'the error names the problem')
    t.match(byName.get('bad-command')?.error, /command/, 'the error names the field')
    await nothingQueued(t, 'after invalid manifests')
    t.notOk(fs.existsSync(ranFile), 'the robot never ran')
  })

  await t.test('GET unknown execution: 404 RR_EXECUTION_NOT_FOUND; malformed id: 400', async (t) => {
    const res = await runner.request({ path: '/api/executions/does-not-exist' })
    t.equal(res.status, 404)
    t.equal(res.json().error?.code, 'RR_EXECUTION_NOT_FOUND')
    const bad = await runner.request({ path: '/api/executions/-bad' })
    t.equal(bad.status, 400)
    t.equal(bad.json().error?.code, 'RR_VALIDATION')
  })

  const okIds: string[] = []
  const failIds: string[] = []

  await t.test('list: filters, limit and cursor pagination', async (t) => {
    // 25 of 'ok' and 5 of 'fails', in concurrent bursts (created_at may tie in one ms).
    for (let burst = 0; burst < 5; burst++) {
      const recs = await Promise.all([
        ...Array.from({ length: 5 }, () => startExecution(runner, { robot: 'ok' })),
        startExecution(runner, { robot: 'fails' })
      ])
      for (const r of recs) (r.robot === 'ok' ? okIds : failIds).push(r.id)
    }
    t.equal(okIds.length, 25)
    t.equal(failIds.length, 5)
    for (const id of [...okIds, ...failIds]) await waitStatus(runner, id, ['succeeded', 'failed', 'lost', 'timed_out', 'cancelled'], 60_000)

    type Page = { items: Array<{ id: string, robot: string, status: string, created_at: string }>, next_cursor: string | null }
    const pageAll = async (query: string, limit: number): Promise<{ ids: string[], items: Page['items'], pages: number[] }> => {
      const ids: string[] = []
      const items: Page['items'] = []
      const pages: number[] = []
      let cursor: string | null = null
      for (let i = 0; i < 50; i++) {
        const q = `${query}${query === '' ? '' : '&'}limit=${limit}${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
        const res = await runner.request({ path: `/api/executions?${q}` })
        if (res.status !== 200) throw new Error(`GET /api/executions?${q}: ${res.status} ${res.body}`)
        const page = res.json() as Page
        t.ok(page.items.length <= limit, `page ${i} has at most ${limit} items`)
        pages.push(page.items.length)
        for (const it of page.items) { ids.push(it.id); items.push(it) }
        cursor = page.next_cursor
        if (cursor === null) break
      }
      t.equal(cursor, null, `${query}: pagination ends (next_cursor null) within 50 pages`)
      return { ids, items, pages }
    }
    const newestFirst = (items: Page['items']): boolean => items.every((it, i) => i === 0 || Date.parse(items[i - 1].created_at) >= Date.parse(it.created_at))

    const all = await pageAll('', 10)
    t.equal(new Set(all.ids).size, all.ids.length, `no duplicates across pages (pages: ${all.pages.join(',')})`)
    t.same([...all.ids].sort(), [...okIds, ...failIds, ...extraIds].sort(), 'every execution seen exactly once')
    t.ok(newestFirst(all.items), 'newest first')
    t.same(all.pages.slice(0, 3), [10, 10, 10], 'full pages of 10')
    const ties = all.items.filter((it, i) => i > 0 && it.created_at === all.items[i - 1].created_at).length
    t.comment(`${ties} neighbours share a created_at millisecond (ties the cursor must break by id)`)

    const single = await pageAll('', 1)
    t.same(single.ids, all.ids, 'limit=1 pages through the same list in the same order')

    const fails = await pageAll('robot=fails', 2)
    t.same([...fails.ids].sort(), [...failIds].sort(), 'robot filter: exactly the 5 of that robot')
    t.ok(fails.items.every((i) => i.robot === 'fails'))

    const failed = await pageAll('status=failed', 10)
    t.same([...failed.ids].sort(), [...failIds].sort(), 'status filter: the 5 failed')
    t.ok(failed.items.every((i) => i.status === 'failed'))

    const succeeded = await pageAll('status=succeeded&robot=ok', 10)
    t.equal(new Set(succeeded.ids).size, succeeded.ids.length, 'status+robot filter: no duplicates')
    t.same([...succeeded.ids].sort(), [...okIds, ...extraIds].sort(), 'status+robot filter: the 25 succeeded ok')
    t.ok(newestFirst(succeeded.items), 'filtered list newest first')

    const none = await runner.request({ path: '/api/executions?status=running' })
    t.same(none.json().items, [], 'nothing running')

    const dflt = await runner.request({ path: '/api/executions' })
    t.equal(dflt.json().items.length, 30 + extraIds.length, 'without limit: all 30 (default limit ≥ 30)')

    // a page's cursor keeps working after newer executions arrive
    const first = (await runner.request({ path: '/api/executions?limit=10' })).json() as Page
    const newer = await startExecution(runner, { robot: 'ok' })
    await waitStatus(runner, newer.id, ['succeeded', 'failed'], 30_000)
    const second = (await runner.request({ path: `/api/executions?limit=10&cursor=${encodeURIComponent(first.next_cursor!)}` })).json() as Page
    t.same(second.items.map((i) => i.id), all.ids.slice(10, 20), 'the next page is unchanged by a newer execution')
  })

  await t.test('list query validation: bad limit, status, cursor → 400', async (t) => {
    for (const q of ['limit=0', 'limit=501', 'limit=abc', 'limit=-1', 'status=bogus', 'robot=..%2Fx', 'cursor=%21%21', 'unknown=1']) {
      const res = await runner.request({ path: `/api/executions?${q}` })
      t.equal(res.status, 400, `${q}: 400 (got ${res.status} ${res.body.slice(0, 200)})`)
      t.equal(res.json().error?.code, 'RR_VALIDATION', `${q}: RR_VALIDATION`)
    }
    t.equal((await runner.request({ path: '/api/executions?limit=500' })).status, 200, 'limit=500 is allowed')
  })

  await t.test('a cursor that was not issued by the server (well-formed characters, garbage content) → 400, not 500', async (t) => {
    for (const cursor of ['abc', Buffer.from('not-a-number|x').toString('base64url'), Buffer.from('garbage').toString('base64url')]) {
      const res = await runner.request({ path: `/api/executions?cursor=${cursor}` })
      t.equal(res.status, 400, `cursor=${cursor}: 400 (got ${res.status} ${res.body.slice(0, 200)})`)
      t.equal(res.json().error?.code, 'RR_VALIDATION', `cursor=${cursor}: RR_VALIDATION`)
    }
    // for the diagnosis of a 500: what the worker logged
    await sleep(300)
    const logFile = String(runner.config.log_file)
    const errors = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('request failed')) : []
    if (errors.length > 0) t.comment(`server log: ${errors.at(-1)!.slice(0, 600)}`)
  })

  await t.test('the trace file shows only the valid executions ran', async (t) => {
    const lines = await waitFor('trace file', () => fs.existsSync(ranFile) ? fs.readFileSync(ranFile, 'utf8').split('\n').filter((l) => l !== '') : undefined)
    t.equal(lines.length, okIds.length + 1 + extraIds.length, 'one run per accepted ok execution (25 + 1), none for the rejected bodies')
  })
})
