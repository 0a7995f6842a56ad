// A private redis-server per test: free port, temp dir, stopped at teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import Redis from 'ioredis'
import { freePort } from './free-port'
import { tmpDir, waitFor } from './tmp'

export interface TestRedis {
  port: number
  url: string
  dir: string
  client: () => Redis
  stop: () => Promise<void>
  /** stop and start again on the same port and dir (AOF brings the data back) */
  restart: () => Promise<void>
}

interface T { teardown: (fn: () => unknown) => void }

export async function startRedis (t: T, opts: { args?: string[], password?: string } = {}): Promise<TestRedis> {
  const extraArgs = [...(opts.args ?? []), ...(opts.password !== undefined ? ['--requirepass', opts.password] : [])]
  const dir = tmpDir(t, 'rr-redis')
  const port = await freePort()
  let child: ChildProcess | undefined
  const clients: Redis[] = []
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--daemonize', 'no', ...extraArgs], { stdio: 'ignore' })
    await waitFor(`redis-server on ${port}`, async () => {
      const c = new Redis({ port, host: '127.0.0.1', password: opts.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      c.on('error', () => {})
      try { await c.connect(); return (await c.ping()) === 'PONG' } finally { c.disconnect() }
    })
  }
  const stop = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGTERM')
    await exited
  }
  t.teardown(async () => {
    for (const c of clients) c.disconnect()
    await stop()
  })
  await launch()
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}/0`,
    client: () => {
      const c = new Redis({ port, host: '127.0.0.1', password: opts.password })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
    stop,
    restart: async () => { await stop(); await launch() }
  }
}
