// GET /api/executions/:id/artifacts (list with size and sha256) and
// GET /api/executions/:id/artifacts/*path (download). A path that is absolute, has a
// '..' or '.' segment (also once more URL-decoded), a backslash or NUL, or resolves
// (through symlinks) outside the artifacts folder is a 400.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config/settings'
import type { ExecutionStore } from '../../state/executions'
import { rrError } from '../../errors'
import { EXECUTION_ID } from './executions'

const MAX_LISTED = 10_000

export function artifactsRoutes (app: FastifyInstance, deps: { config: Config, store: ExecutionStore }): void {
  const params = { type: 'object', properties: { id: { type: 'string', pattern: EXECUTION_ID } }, required: ['id'] }
  const dirOf = async (id: string): Promise<string> => {
    if ((await deps.store.get(id)) === undefined) throw rrError('RR_EXECUTION_NOT_FOUND')
    return path.join(deps.config.data_dir, 'executions', id, 'artifacts')
  }

  app.get<{ Params: { id: string } }>('/executions/:id/artifacts', { schema: { params } }, async (req) => {
    const dir = await dirOf(req.params.id)
    const files: Array<{ name: string, size: number, sha256: string }> = []
    for (const name of await listFiles(dir)) {
      const full = path.join(dir, name)
      const stat = await fsp.stat(full)
      files.push({ name, size: stat.size, sha256: await sha256(full) })
    }
    return { artifacts: files }
  })

  app.get<{ Params: { id: string, '*': string } }>('/executions/:id/artifacts/*', async (req, reply) => {
    if (!new RegExp(EXECUTION_ID).test(req.params.id)) throw rrError('RR_VALIDATION', 'params.id: invalid execution id', { field: 'params.id' })
    const dir = await dirOf(req.params.id)
    const rel = req.params['*']
    if (!safeRelative(rel)) throw rrError('RR_PATH_INVALID')
    const target = path.resolve(dir, rel)
    let real: string
    let realDir: string
    try {
      realDir = await fsp.realpath(dir)
      real = await fsp.realpath(target)
    } catch {
      throw rrError('RR_ARTIFACT_NOT_FOUND')
    }
    if (!real.startsWith(realDir + path.sep)) throw rrError('RR_PATH_INVALID')
    const stat = await fsp.stat(real)
    if (!stat.isFile()) throw rrError('RR_ARTIFACT_NOT_FOUND')
    reply.header('content-type', 'application/octet-stream')
    reply.header('content-length', stat.size)
    reply.header('content-disposition', `attachment; filename="${path.basename(real).replace(/[^\w.-]/g, '_')}"`)
    return reply.send(fs.createReadStream(real))
  })
}

export function safeRelative (rel: string): boolean {
  if (rel === '' || rel.length > 4096) return false
  const variants = [rel]
  // Fastify decoded the path once; decoding again catches double-encoded '..'. A name with a
  // literal '%' does not decode again, and that is fine: the once-decoded path is what opens.
  try { variants.push(decodeURIComponent(rel)) } catch { /* not double-encoded */ }
  for (const v of variants) {
    if (v.includes('\0') || v.includes('\\') || v.startsWith('/') || path.isAbsolute(v)) return false
    if (v.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')) return false
  }
  return true
}

/** Regular files under dir (relative names), not following symlinks. */
async function listFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (sub: string): Promise<void> => {
    let entries: fs.Dirent[]
    try {
      entries = await fsp.readdir(path.join(dir, sub), { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= MAX_LISTED) return
      const rel = sub === '' ? e.name : `${sub}/${e.name}`
      if (e.isDirectory()) await walk(rel)
      else if (e.isFile()) out.push(rel)
    }
  }
  await walk('')
  return out
}

function sha256 (file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    fs.createReadStream(file).on('error', reject).on('data', (c) => hash.update(c)).on('end', () => resolve(hash.digest('hex')))
  })
}
