// Metrics kept inside each worker process, in prom-client's global registry, which the
// supervisor's AggregatorRegistry collects over IPC and sums across workers (one scrape,
// the whole machine). Names follow Prometheus conventions: robotrunner_*, units in names.
import client from 'prom-client'

export const httpRequests = new client.Counter({
  name: 'robotrunner_http_requests_total',
  help: 'HTTP requests answered, by route pattern, method and status code',
  labelNames: ['route', 'method', 'status'] as const
})

export const httpDuration = new client.Histogram({
  name: 'robotrunner_http_request_duration_seconds',
  help: 'HTTP request latency from arrival to response, by route pattern',
  labelNames: ['route', 'method'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
})

export const executionsStarted = new client.Counter({
  name: 'robotrunner_executions_started_total',
  help: 'Robot processes spawned, by robot',
  labelNames: ['robot'] as const
})

export const executionsFinished = new client.Counter({
  name: 'robotrunner_executions_finished_total',
  help: 'Executions that reached a final status, by robot and status',
  labelNames: ['robot', 'status'] as const
})

export const dispatchLatency = new client.Histogram({
  name: 'robotrunner_dispatch_latency_seconds',
  help: 'Time from an execution\'s creation to its robot being spawned (queue wait included)',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5, 30, 120, 600]
})
