// Generated docs are current and every error code is documented.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { syncDocs } from '../src/config/docs'
import { ERRORS } from '../src/errors'

const ROOT = path.resolve(__dirname, '..')

t.test('README settings table and config.json.example match src/config/settings.ts', async (t) => {
  t.same(syncDocs(ROOT, true), [], 'run scripts/gen-config-docs to regenerate')
})

t.test('every RR_* error code is documented in the README', async (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  for (const [code, def] of Object.entries(ERRORS)) {
    t.match(readme, new RegExp(`\\| \`${code}\` \\| ${def.status} \\|`), code)
  }
})
