// GET /api/openapi.json: the OpenAPI 3 document @fastify/swagger builds from the route
// schemas, so it cannot drift from what the server validates.
import type { FastifyInstance } from 'fastify'
import { VERSION } from '../../version'

export const OPENAPI_OPTIONS = {
  openapi: {
    openapi: '3.0.3',
    info: { title: 'Robot Runner', version: VERSION, description: 'Runs RPA robots for a remote orchestrator over mutual-TLS HTTPS.' },
    components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' } } },
    security: [{ bearer: [] }]
  }
}

export function openapiRoutes (api: FastifyInstance, root: FastifyInstance): void {
  api.get('/openapi.json', async () => root.swagger())
}
