// GET /api/robots: the catalogue as found in robots_dir now, invalid manifests included
// (with their error) so a bad deploy is visible.
import type { FastifyInstance } from 'fastify'
import { listRobots } from '../../queue/catalogue'

export function robotsRoutes (app: FastifyInstance, deps: { robotsDir: string }): void {
  app.get('/robots', async () => ({
    robots: listRobots(deps.robotsDir).map((r) => r.valid
      ? { name: r.name, valid: true, command: r.manifest.command, timeout_s: r.manifest.timeout_s ?? null, description: r.manifest.description ?? null, env: Object.keys(r.manifest.env ?? {}) }
      : { name: r.name, valid: false, error: r.error })
  }))
}
