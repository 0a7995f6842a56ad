// max_log_bytes (API.md §1): the log of one execution is truncated with a marker line past
// the limit; the robot's pipes keep being drained (it must not block on a full pipe), so a
// robot printing far more than the limit still runs to its end and succeeds.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { addRobot, shRobot, startExecution, waitStatus } from './helpers/robots'
import { openSse } from './helpers/sse'

const certs = makeCerts(t)
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()
const LIMIT = 20_000
/** the marker is one line; allow it generously */
const MARKER_ALLOWANCE = 400

t.test('max_log_bytes truncation', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { max_log_bytes: LIMIT } })
  const logFile = (id: string): string => path.join(String(runner.config.data_dir), 'executions', id, 'output.log')

  await t.test('numbered lines far past the limit: bounded log, marker line, the first lines kept in order, robot succeeds', async (t) => {
    // 20,000 lines of ~60 bytes (~1.2 MB), written as fast as python can.
    addRobot(runner, 'chatty', { command: [PYTHON, 'robot.py'] }, {
      'robot.py': 'import sys\nfor i in range(1, 20001):\n    sys.stdout.write("chatty line %06d %s\\n" % (i, "x" * 40))\nsys.stdout.write("chatty-done\\n")\n'
    })
    const rec = await startExecution(runner, { robot: 'chatty' })
    const final = await waitStatus(runner, rec.id, ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled'], 120_000)
    t.equal(final.status, 'succeeded', 'the robot ran to its end')
    t.equal(final.exit_code, 0)

    const res = await runner.request({ path: `/api/executions/${rec.id}/logs` })
    t.equal(res.status, 200)
    const size = Buffer.byteLength(res.body)
    t.ok(size <= LIMIT + MARKER_ALLOWANCE, `GET logs is bounded: ${size} bytes <= ${LIMIT} + one marker line`)
    t.ok(size >= LIMIT - 200, `and filled up to about the limit: ${size} bytes`)
    const fileSize = fs.statSync(logFile(rec.id)).size
    t.ok(fileSize <= LIMIT + MARKER_ALLOWANCE, `the log file under data_dir is bounded: ${fileSize} bytes`)

    const lines = res.body.split('\n').filter((l) => l !== '')
    const markers = lines.filter((l) => /truncat/i.test(l))
    t.equal(markers.length, 1, `exactly one marker line: ${JSON.stringify(markers)}`)
    const markerAt = lines.findIndex((l) => /truncat/i.test(l))
    t.same(lines.slice(markerAt + 1).filter((l) => /chatty/.test(l)), [], 'no robot output after the marker')
    const nums = lines.map((l) => /chatty line (\d{6})/.exec(l)?.[1]).filter((x) => x !== undefined).map(Number)
    t.ok(nums.length > 100, `a good part of the lines is kept (${nums.length})`)
    t.same(nums, nums.map((_, i) => i + 1), 'the kept lines are the first ones, in order, none cut in the middle')
    t.notOk(res.body.includes('chatty-done'), 'the output past the limit is not in the log')

    // The live stream carries the same bounded log and still ends.
    const follow = await openSse({ port: runner.port, certs, token: runner.token, path: `/api/executions/${rec.id}/logs?follow=1` })
    const events = await follow.rest(30_000)
    const sseText = events.filter((e) => e.event === 'message').map((e) => e.data).join('\n')
    t.ok(Buffer.byteLength(sseText) <= LIMIT + MARKER_ALLOWANCE, `SSE replay is bounded too (${Buffer.byteLength(sseText)} bytes)`)
    t.match(sseText, /truncat/i, 'SSE replay has the marker')
    t.equal(events.at(-1)?.event, 'end')
  })

  await t.test('20 MB on stdout and stderr at full speed, plus a 2 MB line without newline: drained, bounded, succeeds', async (t) => {
    shRobot(runner, 'flood', [
      "yes 'flood stdout line flood stdout line' | head -c 10000000",
      "yes 'flood stderr line flood stderr line' | head -c 10000000 >&2",
      "head -c 2000000 /dev/zero | tr '\\0' x",
      'echo',
      'echo flood-done'
    ].join('; '))
    const rec = await startExecution(runner, { robot: 'flood' })
    const final = await waitStatus(runner, rec.id, ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled'], 180_000)
    t.equal(final.status, 'succeeded', 'the robot was never blocked on a full pipe')
    const res = await runner.request({ path: `/api/executions/${rec.id}/logs` })
    const size = Buffer.byteLength(res.body)
    t.ok(size <= LIMIT + MARKER_ALLOWANCE, `bounded: ${size} bytes`)
    t.equal(res.body.split('\n').filter((l) => /truncat/i.test(l)).length, 1, 'one marker line')
    t.ok(fs.statSync(logFile(rec.id)).size <= LIMIT + MARKER_ALLOWANCE, 'log file bounded')
  })

  await t.test('a robot under the limit is not truncated', async (t) => {
    shRobot(runner, 'quiet', 'for i in 1 2 3; do echo quiet-$i; done')
    const rec = await startExecution(runner, { robot: 'quiet' })
    await waitStatus(runner, rec.id, ['succeeded', 'failed'])
    const body = (await runner.request({ path: `/api/executions/${rec.id}/logs` })).body
    t.notMatch(body, /truncat/i, 'no marker')
    for (const i of [1, 2, 3]) t.match(body, new RegExp(`quiet-${i}\\n`))
  })
})
