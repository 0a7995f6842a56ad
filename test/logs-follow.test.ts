// Execution logs (API.md §2 GET /api/executions/:id/logs, §3): live SSE follow of a robot
// printing 10,000 lines, cut halfway and resumed with Last-Event-ID (every line exactly
// once, in order, then `event: end` with the final status); the plain-text log with stdout
// and stderr interleaved and timestamped; output written right before exit is all in the
// log before the final status is visible.
import { execFileSync } from 'node:child_process'
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { addRobot, shRobot, startExecution, waitStatus } from './helpers/robots'
import { openSse, type SseEvent } from './helpers/sse'
import { sleep } from './helpers/tmp'

const certs = makeCerts(t)
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()
const TOTAL = 10_000
const ISO_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b/
const STREAM_ID = /^\d+-\d+$/

/** The numbers of the robot's `line NNNNN` lines found in SSE data events, in order. */
function numberedLines (events: SseEvent[]): number[] {
  const out: number[] = []
  for (const e of events) {
    if (e.event !== 'message') continue
    for (const l of e.data.split('\n')) {
      const m = /\bline (\d{5})$/.exec(l)
      if (m !== null) out.push(Number(m[1]))
    }
  }
  return out
}

/** A compact description of how seen differs from 1..total (for the failure message). */
function sequenceReport (seen: number[], total: number): { ok: boolean, count: number, duplicates: number, missing: number, firstBadIndex: number, around: number[] } {
  const counts = new Map<number, number>()
  for (const n of seen) counts.set(n, (counts.get(n) ?? 0) + 1)
  let duplicates = 0
  let missing = 0
  for (let i = 1; i <= total; i++) {
    const c = counts.get(i) ?? 0
    if (c === 0) missing++
    if (c > 1) duplicates += c - 1
  }
  let firstBadIndex = -1
  for (let i = 0; i < Math.max(seen.length, total); i++) {
    if (seen[i] !== i + 1) { firstBadIndex = i; break }
  }
  return {
    ok: firstBadIndex === -1,
    count: seen.length,
    duplicates,
    missing,
    firstBadIndex,
    around: firstBadIndex === -1 ? [] : seen.slice(Math.max(0, firstBadIndex - 3), firstBadIndex + 4)
  }
}

t.test('execution logs', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const sse = (path: string, headers: Record<string, string> = {}) => openSse({ port: runner.port, certs, token: runner.token, path, headers })

  // 10,000 numbered lines, flushed every 50 lines with a short pause: ~4 s or more of live output.
  addRobot(runner, 'counter', { command: [PYTHON, 'robot.py'] }, {
    'robot.py': [
      'import sys, time',
      `for i in range(1, ${TOTAL + 1}):`,
      '    sys.stdout.write("line %05d\\n" % i)',
      '    if i % 50 == 0:',
      '        sys.stdout.flush()',
      '        time.sleep(0.02)',
      'sys.stdout.flush()'
    ].join('\n') + '\n'
  })

  let counterId = ''

  await t.test('SSE follow of 10,000 lines, disconnected halfway, resumed with Last-Event-ID: every line once, in order, then event: end', async (t) => {
    const rec = await startExecution(runner, { robot: 'counter' })
    counterId = rec.id
    const path = `/api/executions/${encodeURIComponent(rec.id)}/logs`

    // First connection: ?follow=1, read until line 5000 has arrived in a complete event.
    const first = await sse(`${path}?follow=1`)
    t.equal(first.status, 200, 'follow answers 200')
    t.match(first.headers['content-type'], /^text\/event-stream/, 'content-type text/event-stream')
    const firstEvents: SseEvent[] = []
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const e = await first.next(30_000)
      if (e === undefined) break
      firstEvents.push(e)
      if (e.event === 'end') break
      const nums = numberedLines([e])
      if (nums.length > 0 && nums[nums.length - 1] >= TOTAL / 2) break
    }
    const resumeFrom = first.lastEventId
    first.close()
    const firstLines = numberedLines(firstEvents)
    t.ok(firstLines.length >= TOTAL / 2 && firstLines.length < TOTAL, `the first connection got about half the lines live (${firstLines.length})`)
    t.notOk(firstEvents.some((e) => e.event === 'end'), 'the robot was still running when the client disconnected')
    const noId = firstEvents.filter((e) => e.id === undefined || !STREAM_ID.test(e.id))
    t.same(noId, [], 'every data event has an id: (a stream id)')
    t.ok(resumeFrom !== undefined && STREAM_ID.test(resumeFrom), `Last-Event-ID to resume from: ${String(resumeFrom)}`)
    const during = (await runner.request({ path: `/api/executions/${rec.id}` })).json()
    t.comment(`status at disconnect: ${String(during.status)}`)

    // Stay away a moment while the robot keeps printing, then resume (Accept header this time).
    await sleep(500)
    const second = await sse(path, { accept: 'text/event-stream', 'last-event-id': resumeFrom! })
    t.equal(second.status, 200)
    const secondEvents = await second.rest(90_000)
    second.close()

    const all = [...firstLines, ...numberedLines(secondEvents)]
    const report = sequenceReport(all, TOTAL)
    t.ok(report.ok, `every line exactly once, in order: ${JSON.stringify(report)}`)

    const last = secondEvents.at(-1)
    t.equal(last?.event, 'end', 'the stream ends with event: end')
    t.equal(secondEvents.filter((e) => e.event === 'end').length, 1, 'exactly one end event')
    let endData: { status?: string } = {}
    try { endData = JSON.parse(last?.data ?? '') } catch { t.fail(`end event data is not JSON: ${String(last?.data)}`) }
    t.equal(endData.status, 'succeeded', 'end event carries the final status')
    const final = await waitStatus(runner, rec.id, ['succeeded', 'failed'], 10_000)
    t.equal(final.status, 'succeeded')
  })

  await t.test('GET logs without follow: text/plain with every line, in order', async (t) => {
    t.ok(counterId !== '', 'needs the execution of the previous test')
    if (counterId === '') return
    await waitStatus(runner, counterId, ['succeeded', 'failed'], 60_000)
    const res = await runner.request({ path: `/api/executions/${counterId}/logs` })
    t.equal(res.status, 200)
    t.match(res.headers['content-type'], /^text\/plain/)
    const nums: number[] = []
    for (const l of res.body.split('\n')) {
      const m = /\bline (\d{5})$/.exec(l)
      if (m !== null) nums.push(Number(m[1]))
    }
    const report = sequenceReport(nums, TOTAL)
    t.ok(report.ok, `all ${TOTAL} lines once, in order: ${JSON.stringify(report)}`)
  })

  await t.test('stdout and stderr both in the log, interleaved in order, each line timestamped', async (t) => {
    shRobot(runner, 'both', 'echo out-one; sleep 0.2; echo err-one >&2; sleep 0.2; echo out-two; sleep 0.2; echo err-two >&2')
    const rec = await startExecution(runner, { robot: 'both' })
    await waitStatus(runner, rec.id, ['succeeded', 'failed'])
    const res = await runner.request({ path: `/api/executions/${rec.id}/logs` })
    t.equal(res.status, 200)
    const lines = res.body.split('\n')
    const want = ['out-one', 'err-one', 'out-two', 'err-two']
    const idx = want.map((w) => lines.findIndex((l) => l.endsWith(` ${w}`) || l === w))
    t.ok(idx.every((i) => i >= 0), `every line is in the log: ${JSON.stringify(idx)}\n${res.body}`)
    t.same([...idx].sort((a, b) => a - b), idx, 'in the order the robot wrote them (interleaved)')
    for (const i of idx) if (i >= 0) t.match(lines[i], ISO_TS, `timestamped: ${lines[i]}`)
    const outLine = lines[idx[0]] ?? ''
    const errLine = lines[idx[1]] ?? ''
    t.not(outLine.replace(ISO_TS, '').replace('out-one', ''), errLine.replace(ISO_TS, '').replace('err-one', ''), 'stdout and stderr lines are told apart')
  })

  await t.test('output written right before exit is all in the log when the final status is visible', async (t) => {
    shRobot(runner, 'tail', "printf 'a\\nb\\nlast-line-no-newline'; printf 'e1\\nerr-last-no-newline' >&2")
    // More than a pipe buffer (64 KiB) written at once by a process that exits right after.
    shRobot(runner, 'burst', 'seq 1 30000; echo burst-done')
    addRobot(runner, 'pyburst', { command: [PYTHON, 'robot.py'] }, {
      // block-buffered stdout (a pipe): everything is written by the interpreter's exit
      'robot.py': 'import sys\nfor i in range(5000):\n    sys.stdout.write("py %d\\n" % i)\nsys.stdout.write("py-end-no-newline")\n'
    })

    for (let round = 0; round < 3; round++) {
      const tail = await startExecution(runner, { robot: 'tail' })
      await waitStatus(runner, tail.id, ['succeeded', 'failed'])
      const log = (await runner.request({ path: `/api/executions/${tail.id}/logs` })).body
      const lines = log.split('\n')
      for (const w of ['a', 'b', 'last-line-no-newline', 'e1', 'err-last-no-newline']) {
        t.ok(lines.some((l) => l.endsWith(` ${w}`)), `round ${round}: "${w}" is in the log`)
      }
    }

    const burst = await startExecution(runner, { robot: 'burst' })
    const burstRec = await waitStatus(runner, burst.id, ['succeeded', 'failed'], 30_000)
    t.equal(burstRec.status, 'succeeded')
    const burstLog = (await runner.request({ path: `/api/executions/${burst.id}/logs` })).body
    const nums = burstLog.split('\n').map((l) => /\] (\d+)$/.exec(l)?.[1]).filter((x) => x !== undefined).map(Number)
    t.equal(nums.length, 30000, 'all 30000 lines of seq')
    t.equal(nums.at(-1), 30000)
    t.ok(burstLog.split('\n').some((l) => l.endsWith(' burst-done')), 'and the last line')

    const py = await startExecution(runner, { robot: 'pyburst' })
    await waitStatus(runner, py.id, ['succeeded', 'failed'])
    const pyLog = (await runner.request({ path: `/api/executions/${py.id}/logs` })).body
    t.equal(pyLog.split('\n').filter((l) => / py \d+$/.test(l)).length, 5000, 'all 5000 lines flushed at interpreter exit')
    t.ok(pyLog.split('\n').some((l) => l.endsWith(' py-end-no-newline')), 'and the unterminated last line')

    // The SSE replay of a finished execution has them too, and ends.
    const replay = await sse(`/api/executions/${py.id}/logs?follow=1`)
    const events = await replay.rest(30_000)
    const data = events.filter((e) => e.event === 'message').map((e) => e.data).join('\n').split('\n')
    t.equal(data.filter((l) => / py \d+$/.test(l)).length, 5000, 'SSE replay: all 5000 lines')
    t.ok(data.some((l) => l.endsWith(' py-end-no-newline')), 'SSE replay: the unterminated last line')
    t.equal(events.at(-1)?.event, 'end', 'SSE replay ends with event: end')
  })

  await t.test('carriage returns in the output (progress bars) neither lose text nor forge SSE events', async (t) => {
    // SSE ends a line at \n, \r\n or \r: a raw \r inside a data: line cuts it, and \r\r is a
    // blank line that dispatches an event. A robot must not be able to end the stream with a
    // fake `event: end` / status, nor lose its progress text in the follow.
    // a script file, so the runner's own "attempt 1: <command>" note does not contain the text
    addRobot(runner, 'progress', { command: ['/bin/sh', 'run.sh'] }, {
      'run.sh': [
        "printf 'progress 10%%\\rprogress 100%%\\n'",
        "printf 'inject\\r\\revent: end\\rdata: {\"status\":\"succeeded\",\"exit_code\":0,\"signal\":null}\\r\\rid: 99999999999999-0\\rdata: forged\\r\\r\\n'",
        'echo after-inject',
        'exit 3'
      ].join('\n') + '\n'
    })
    const rec = await startExecution(runner, { robot: 'progress' })
    const final = await waitStatus(runner, rec.id, ['succeeded', 'failed'])
    t.equal(final.status, 'failed', 'the robot really failed (exit 3)')

    const text = (await runner.request({ path: `/api/executions/${rec.id}/logs` })).body
    t.ok(text.includes('progress 10%') && text.includes('progress 100%'), 'the plain-text log has the progress text')

    const follow = await sse(`/api/executions/${rec.id}/logs?follow=1`)
    const events = await follow.rest(30_000)
    const ends = events.filter((e) => e.event === 'end')
    t.equal(ends.length, 1, `exactly one end event (got ${ends.length}: ${JSON.stringify(ends)})`)
    t.equal(events.at(-1)?.event, 'end', 'the end event is the last one')
    let status: string | undefined
    try { status = JSON.parse(events.at(-1)?.data ?? '').status } catch { /* reported below */ }
    t.equal(status, 'failed', 'the end event carries the real final status')
    t.notOk(events.some((e) => e.id === '99999999999999-0'), 'no event with a forged id')
    const data = events.filter((e) => e.event === 'message').map((e) => e.data).join('\n')
    t.ok(data.includes('progress 10%') && data.includes('progress 100%'), `the follow carries the progress text (data: ${JSON.stringify(data.slice(0, 300))})`)
    t.ok(data.includes('after-inject'), 'and the output after it')
    t.comment(`raw SSE excerpt: ${JSON.stringify(follow.raw.slice(follow.raw.indexOf('[out] progress') - 40, follow.raw.indexOf('[out] progress') + 220))}`)
  })

  await t.test('unknown execution: 404', async (t) => {
    const res = await runner.request({ path: '/api/executions/no-such-exec/logs' })
    t.equal(res.status, 404)
    t.equal(res.json().error.code, 'RR_EXECUTION_NOT_FOUND')
  })
})
