// Artifacts (API.md §2): the files a robot wrote to $RR_ARTIFACTS_DIR are listed with name,
// size and sha256 and can be downloaded; any path escaping the artifacts folder (.., encoded
// and double-encoded variants, absolute paths, backslashes, symlinks pointing outside) is a
// 400 RR_PATH_INVALID. Requests are sent with node:https and the path exactly as written
// here (Node does not normalise a request path); the access log shows what the server got.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import t from 'tap'
import { makeCerts, type Certs } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner, type Runner } from './helpers/runner'
import { shRobot, startExecution, waitStatus } from './helpers/robots'
import { waitFor } from './helpers/tmp'

const certs = makeCerts(t)
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** GET with the request path exactly as given; the body as bytes. */
function rawGet (runner: Runner, c: Certs, rawPath: string): Promise<{ status: number, headers: Record<string, unknown>, body: Buffer, json: () => any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      servername: 'localhost',
      port: runner.port,
      method: 'GET',
      path: rawPath,
      headers: { authorization: `Bearer ${runner.token}` },
      ca: fs.readFileSync(c.ca),
      cert: fs.readFileSync(c.clientCert),
      key: fs.readFileSync(c.clientKey),
      agent: false,
      timeout: 10_000
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) })
      })
    })
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end()
  })
}

t.test('artifacts', async (t) => {
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url })
  const get = (p: string) => rawGet(runner, certs, p)

  // A file outside the artifacts folder, next to it in the execution's folder: a good target.
  shRobot(runner, 'maker', [
    'set -e',
    'cd "$RR_ARTIFACTS_DIR"',
    "printf 'hello artifact\\n' > a.txt",
    ': > empty.txt',
    'mkdir -p sub/deeper',
    'head -c 100000 /dev/urandom > sub/blob.bin',
    "printf 'deep file' > sub/deeper/c.txt",
    "printf 'x-outside' > ../x",
    'ln -s /etc/passwd link-out',
    'ln -s ../params.json link-params',
    'ln -s a.txt link-in',
    'ln -s /etc dir-etc',
    // names that need URL-encoding (and one that decodes to %-sequences once decoded)
    "printf 'percent' > 'report 100%.txt'",
    "printf 'encoded-looking' > 'a%41b.txt'",
    "printf 'unicode' > 'ünïcødé.txt'",
    "printf 'query' > 'a+b&c=d?#.txt'"
  ].join('\n'))

  const rec = await startExecution(runner, { robot: 'maker', params: { some: 'param' } })
  const final = await waitStatus(runner, rec.id, ['succeeded', 'failed'])
  const base = `/api/executions/${rec.id}/artifacts`
  const artifactsDir = path.join(String(runner.config.data_dir), 'executions', rec.id, 'artifacts')

  await t.test('the robot ran and wrote its files', async (t) => {
    t.equal(final.status, 'succeeded', JSON.stringify(final))
  })

  await t.test('list: name, size, sha256 of each regular file (subfolders included); the outside symlinks are not listed', async (t) => {
    const res = await get(base)
    t.equal(res.status, 200)
    const { artifacts } = res.json() as { artifacts: Array<{ name: string, size: number, sha256: string }> }
    t.ok(Array.isArray(artifacts), 'an artifacts array')
    const byName = new Map(artifacts.map((a) => [a.name, a]))
    for (const name of ['a.txt', 'empty.txt', 'sub/blob.bin', 'sub/deeper/c.txt']) {
      const a = byName.get(name)
      t.ok(a, `${name} is listed`)
      if (a === undefined) continue
      const bytes = fs.readFileSync(path.join(artifactsDir, name))
      t.equal(a.size, bytes.length, `${name}: size`)
      t.equal(a.sha256, sha256(bytes), `${name}: sha256 (computed here)`)
    }
    for (const name of ['link-out', 'link-params', 'dir-etc', 'dir-etc/passwd', 'passwd']) {
      t.notOk(byName.has(name), `${name} is not listed`)
    }
    t.notOk(artifacts.some((a) => a.sha256 === sha256(fs.readFileSync('/etc/passwd'))), 'nothing listed has the content of /etc/passwd')
    t.notOk(artifacts.some((a) => a.name.startsWith('/') || a.name.split('/').includes('..')), 'names are relative, no ..')
    const inside = byName.get('link-in')
    if (inside !== undefined) {
      t.equal(inside.sha256, sha256(fs.readFileSync(path.join(artifactsDir, 'a.txt'))), 'link-in (to a file inside) listed with its target\'s sha256')
    }
    t.comment(`listed: ${artifacts.map((a) => a.name).join(', ')}`)
  })

  await t.test('download: the exact bytes, for a file at the top and in subfolders', async (t) => {
    for (const name of ['a.txt', 'empty.txt', 'sub/blob.bin', 'sub/deeper/c.txt']) {
      const res = await get(`${base}/${name.split('/').map(encodeURIComponent).join('/')}`)
      t.equal(res.status, 200, `${name}: 200`)
      const want = fs.readFileSync(path.join(artifactsDir, name))
      t.equal(res.body.length, want.length, `${name}: length`)
      t.equal(sha256(res.body), sha256(want), `${name}: same bytes`)
    }
    // a symlink to a file inside the folder does not escape: if it is served, it is the target
    const linkIn = await get(`${base}/link-in`)
    t.comment(`link-in (symlink to a.txt): ${linkIn.status}`)
    if (linkIn.status === 200) t.equal(linkIn.body.toString(), 'hello artifact\n', 'link-in serves its target inside the folder')
    else t.equal(linkIn.status, 400, 'or is refused as a path error, never anything else')
  })

  await t.test('every listed file downloads by its URL-encoded name, whatever characters it has', async (t) => {
    const { artifacts } = (await get(base)).json() as { artifacts: Array<{ name: string, size: number, sha256: string }> }
    for (const name of ['report 100%.txt', 'a%41b.txt', 'ünïcødé.txt', 'a+b&c=d?#.txt']) {
      t.ok(artifacts.some((a) => a.name === name), `${name} is listed`)
    }
    for (const a of artifacts) {
      const res = await get(`${base}/${a.name.split('/').map(encodeURIComponent).join('/')}`)
      t.equal(res.status, 200, `${a.name}: 200 (got ${res.status} ${res.status !== 200 ? res.body.toString().slice(0, 200) : ''})`)
      if (res.status === 200) t.equal(sha256(res.body), a.sha256, `${a.name}: the listed sha256`)
    }
  })

  // The tail of the request path after .../artifacts/, exactly as sent.
  const traversals: Array<[string, string]> = [
    ['../x', 'plain ..'],
    ['..%2fx', 'encoded slash'],
    ['%2e%2e/x', 'encoded dots'],
    ['%2e%2e%2fx', 'encoded dots and slash'],
    ['%2E%2E%2Fx', 'upper-case encoding'],
    ['%252e%252e%252fx', 'double-encoded'],
    ['sub/../../x', '.. after a real folder'],
    ['sub%2f..%2f..%2fx', '.. after a real folder, encoded'],
    ['%2fetc%2fpasswd', 'absolute, encoded'],
    ['/etc/passwd', 'absolute (double slash in the URL)'],
    ['..%5cx', 'backslash, encoded'],
    ['..\\x', 'backslash, raw'],
    ['%2e%2e%5c%2e%2e%5cetc%5cpasswd', 'encoded dots and backslashes'],
    ['..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', 'deep encoded ../ to /etc/passwd'],
    ['../../../../../../../../etc/passwd', 'deep ../ to /etc/passwd'],
    ['link-out', 'symlink to /etc/passwd'],
    ['link-params', 'symlink to a file outside the folder (params.json)'],
    ['dir-etc/passwd', 'through a symlinked folder outside'],
    ['.', 'the folder itself'],
    ['a.txt%00.png', 'NUL byte']
  ]

  await t.test(`${traversals.length} traversal variants: 400 RR_PATH_INVALID, nothing served`, async (t) => {
    const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n')[0]
    for (const [tail, what] of traversals) {
      const res = await get(`${base}/${tail}`)
      let code: string | undefined
      try { code = res.json().error?.code } catch { code = undefined }
      t.equal(res.status, 400, `${what} (${tail}): 400 (got ${res.status} ${res.body.toString('utf8').slice(0, 200)})`)
      t.equal(code, 'RR_PATH_INVALID', `${what} (${tail}): RR_PATH_INVALID`)
      const text = res.body.toString('utf8')
      t.notOk(text.includes('x-outside') || (passwd !== '' && text.includes(passwd)) || text.includes('"some"'), `${what}: no outside content`)
    }
  })

  await t.test('the server received the traversal paths as sent (not normalised on the way)', async (t) => {
    const accessLog = String(runner.config.access_log)
    const urls = await waitFor('the access log to have the traversal requests', () => {
      if (!fs.existsSync(accessLog)) return undefined
      const got = new Set<string>()
      for (const line of fs.readFileSync(accessLog, 'utf8').split('\n')) {
        try { got.add(JSON.parse(line).url) } catch { /* partial line */ }
      }
      return traversals.every(([tail]) => got.has(`${base}/${tail}`)) ? got : undefined
    }, 10_000).catch((err: Error) => err)
    t.notOk(urls instanceof Error, urls instanceof Error ? urls.message : 'every traversal URL reached the server verbatim')
  })

  await t.test('unknown artifact, unknown execution: 404', async (t) => {
    const missing = await get(`${base}/nope.txt`)
    t.equal(missing.status, 404)
    t.equal(missing.json().error.code, 'RR_ARTIFACT_NOT_FOUND')
    const missingSub = await get(`${base}/sub/nope.txt`)
    t.equal(missingSub.status, 404)
    t.equal(missingSub.json().error.code, 'RR_ARTIFACT_NOT_FOUND')
    const noExecList = await get('/api/executions/no-such-execution/artifacts')
    t.equal(noExecList.status, 404)
    t.equal(noExecList.json().error.code, 'RR_EXECUTION_NOT_FOUND')
    const noExecFile = await get('/api/executions/no-such-execution/artifacts/a.txt')
    t.equal(noExecFile.status, 404)
    t.equal(noExecFile.json().error.code, 'RR_EXECUTION_NOT_FOUND')
    // a traversal in the execution id itself never reaches the file system
    const badId = await get('/api/executions/..%2f..%2f..%2fetc/artifacts/passwd')
    t.ok(badId.status === 400 || badId.status === 404, `traversal in the id: ${badId.status}`)
    t.notOk(badId.body.toString().includes('root:'), 'nothing served')
  })

  await t.test('an execution without artifacts lists nothing', async (t) => {
    shRobot(runner, 'nothing', 'true')
    const none = await startExecution(runner, { robot: 'nothing' })
    await waitStatus(runner, none.id, ['succeeded', 'failed'])
    const res = await get(`/api/executions/${none.id}/artifacts`)
    t.equal(res.status, 200)
    t.same(res.json(), { artifacts: [] })
  })
})
