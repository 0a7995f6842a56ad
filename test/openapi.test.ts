// The OpenAPI document lists every route of the contract with its request schemas.
import t from 'tap'
import { makeCerts } from './helpers/certs'
import { startRedis } from './helpers/redis'
import { startRunner } from './helpers/runner'

t.test('GET /api/openapi.json covers API.md §2', async (t) => {
  const certs = makeCerts(t)
  const redis = await startRedis(t)
  const runner = await startRunner(t, { certs, redisUrl: redis.url, config: { http_workers: 1 } })
  t.equal((await runner.raw({ path: '/api/openapi.json' })).status, 401, 'authenticated')
  const res = await runner.request({ path: '/api/openapi.json' })
  t.equal(res.status, 200)
  const doc = res.json()
  t.match(doc.openapi, /^3\./)
  t.equal(doc.info.version, '2.0.0')
  const routes: Array<[string, string]> = [
    ['get', '/health'], ['get', '/ready'], ['get', '/api/status'], ['get', '/api/robots'],
    ['post', '/api/executions'], ['get', '/api/executions'], ['get', '/api/executions/{id}'],
    ['post', '/api/executions/{id}/cancel'], ['get', '/api/executions/{id}/logs'],
    ['get', '/api/executions/{id}/artifacts'], ['get', '/api/workers'], ['get', '/metrics']
  ]
  for (const [method, path] of routes) t.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`)
  t.ok(Object.keys(doc.paths).some((p) => p.startsWith('/api/executions/{id}/artifacts/')), 'artifact download')
  const post = doc.paths['/api/executions'].post
  const body = post.requestBody.content['application/json'].schema
  t.same(body.required, ['robot'])
  t.same(Object.keys(body.properties).sort(), ['execution_id', 'params', 'priority', 'retries', 'robot', 'secrets', 'timeout_s'])
  t.equal(body.additionalProperties, false)
  const list = doc.paths['/api/executions'].get.parameters.map((p: { name: string }) => p.name).sort()
  t.same(list, ['cursor', 'limit', 'robot', 'status'])
})
