// Robot Framework results (API.md §3): when a robot leaves an RF output.xml in its
// artifacts dir, its totals become the record's `result` {pass, fail, skip}; the exit code
// is kept (RF: 1-249 failed tests, 252 invalid data, 253 stopped) and non-zero is `failed`.
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'
import { addRobot, startExecution, waitStatus } from './helpers/robots'

const certs = makeCerts(t)
const FINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'lost']

// An output.xml as Robot Framework 7 writes it (trimmed): suite, tests with keywords,
// statistics (total, tag, suite), errors. The tag and suite <stat>s carry other numbers,
// so only the <total> one may be read.
const RF7_OUTPUT = `<?xml version="1.0" encoding="UTF-8"?>
<robot generator="Robot 7.0.1 (Python 3.11.7 on linux)" generated="2024-05-02T09:14:03.511235" rpa="false" schemaversion="5">
<suite id="s1" name="Invoices" source="/srv/robots/invoices/tests">
<test id="s1-t1" name="Open Portal" line="8">
<kw name="Open Browser" owner="SeleniumLibrary">
<arg>https://portal.example</arg>
<status status="PASS" start="2024-05-02T09:14:03.601000" elapsed="1.204"/>
</kw>
<status status="PASS" start="2024-05-02T09:14:03.600000" elapsed="1.210"/>
</test>
<test id="s1-t2" name="Download Invoices" line="12">
<status status="PASS" start="2024-05-02T09:14:04.811000" elapsed="2.002"/>
</test>
<test id="s1-t3" name="Parse Invoices" line="16">
<status status="PASS" start="2024-05-02T09:14:06.813000" elapsed="0.420"/>
</test>
<test id="s1-t4" name="Upload Totals" line="20">
<kw name="Should Be Equal" owner="BuiltIn">
<msg time="2024-05-02T09:14:07.300000" level="FAIL">41 != 42</msg>
<arg>41</arg>
<arg>42</arg>
<status status="FAIL" start="2024-05-02T09:14:07.290000" elapsed="0.011"/>
</kw>
<status status="FAIL" start="2024-05-02T09:14:07.233000" elapsed="0.070">41 != 42</status>
</test>
<test id="s1-t5" name="Archive" line="26">
<tag>slow</tag>
<status status="SKIP" start="2024-05-02T09:14:07.304000" elapsed="0.001">Skipped with --skip option.</status>
</test>
<test id="s1-t6" name="Notify" line="30">
<tag>slow</tag>
<status status="SKIP" start="2024-05-02T09:14:07.306000" elapsed="0.001">Skipped with --skip option.</status>
</test>
<status status="FAIL" start="2024-05-02T09:14:03.512000" elapsed="3.795"/>
</suite>
<statistics>
<total>
<stat pass="3" fail="1" skip="2">All Tests</stat>
</total>
<tag>
<stat pass="0" fail="0" skip="2">slow</stat>
</tag>
<suite>
<stat pass="3" fail="1" skip="2" id="s1" name="Invoices">Invoices</stat>
</suite>
</statistics>
<errors>
</errors>
</robot>
`

// RF 3.x: no skip attribute, and the <total> section has two stats, "Critical Tests" first
// and then "All Tests" (the totals); the exit code counts failed critical tests only (0 here).
const RF3_OUTPUT = `<?xml version="1.0" encoding="UTF-8"?>
<robot generator="Robot 3.2.2 (Python 3.8.10 on linux)" generated="20240502 09:14:03.511" rpa="false">
<suite id="s1" name="Old" source="/srv/robots/old/tests">
<status status="PASS" starttime="20240502 09:14:03.512" endtime="20240502 09:14:04.001"></status>
</suite>
<statistics>
<total>
<stat pass="1" fail="0">Critical Tests</stat>
<stat pass="2" fail="1">All Tests</stat>
</total>
<tag>
</tag>
<suite>
<stat pass="2" fail="1" id="s1" name="Old">Old</stat>
</suite>
</statistics>
<errors>
</errors>
</robot>
`

t.test('Robot Framework output.xml', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const rfRobot = (name: string, xml: string, exit: number): void => {
    addRobot(runner, name, { command: ['/bin/sh', '-c', `cp output.xml "$RR_ARTIFACTS_DIR/output.xml"; echo "Output:  $RR_ARTIFACTS_DIR/output.xml"; exit ${exit}`] }, { 'output.xml': xml })
  }

  await t.test('RF 7 output.xml, exit 1 (one failed test): failed, exit_code 1, result {pass:3, fail:1, skip:2}', async (t) => {
    rfRobot('rf-suite', RF7_OUTPUT, 1)
    const rec = await startExecution(runner, { robot: 'rf-suite' })
    const final = await waitStatus(runner, rec.id, FINAL)
    t.equal(final.status, 'failed')
    t.equal(final.exit_code, 1)
    t.equal(final.signal, null)
    t.same(final.result, { pass: 3, fail: 1, skip: 2 }, `result from <total>: ${JSON.stringify(final.result)}`)
    // the same in the list
    const listed = (await runner.request({ path: '/api/executions?robot=rf-suite' })).json().items[0]
    t.same(listed?.result, { pass: 3, fail: 1, skip: 2 }, 'the listed record has the result too')
    const artifacts = (await runner.request({ path: `/api/executions/${rec.id}/artifacts` })).json().artifacts as Array<{ name: string }>
    t.ok(artifacts.some((a) => a.name === 'output.xml'), 'output.xml is an artifact')
  })

  await t.test('RF 3 output.xml (no skip attribute, a non-critical failure), exit 0: succeeded, result = All Tests {pass:2, fail:1, skip:0}', async (t) => {
    rfRobot('rf-old', RF3_OUTPUT, 0)
    const rec = await startExecution(runner, { robot: 'rf-old' })
    const final = await waitStatus(runner, rec.id, FINAL)
    t.equal(final.status, 'succeeded')
    t.equal(final.exit_code, 0)
    t.same(final.result, { pass: 2, fail: 1, skip: 0 }, `the All Tests totals, not Critical Tests: ${JSON.stringify(final.result)}`)
  })

  await t.test('RF exit codes are kept: 252 (invalid data) and 253 (stopped) are failed with that exit_code', async (t) => {
    for (const code of [252, 253]) {
      addRobot(runner, `rf-exit-${code}`, { command: ['/bin/sh', '-c', `exit ${code}`] })
      const rec = await startExecution(runner, { robot: `rf-exit-${code}` })
      const final = await waitStatus(runner, rec.id, FINAL)
      t.equal(final.status, 'failed', `${code}: failed`)
      t.equal(final.exit_code, code, `${code}: exit_code kept`)
      t.notOk(final.result != null, `${code}: no output.xml, no result`)
    }
  })

  await t.test('no output.xml: no result', async (t) => {
    addRobot(runner, 'plain', { command: ['/bin/sh', '-c', 'echo hi > "$RR_ARTIFACTS_DIR/report.txt"'] })
    const rec = await startExecution(runner, { robot: 'plain' })
    const final = await waitStatus(runner, rec.id, FINAL)
    t.equal(final.status, 'succeeded')
    t.notOk(final.result != null, `result absent or null: ${JSON.stringify(final.result)}`)
  })
})
