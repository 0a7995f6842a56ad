// The one way any process connects to Redis: redis://, rediss:// or unix:///path.
import Redis, { type RedisOptions } from 'ioredis'
import type { Config } from '../config/settings'

export function redisOptions (c: Pick<Config, 'redis_url' | 'redis_password'>): RedisOptions & { url?: string } {
  if (c.redis_url === undefined) throw new Error('redis_url is not resolved (the supervisor sets it for the embedded Redis)')
  const base: RedisOptions = {
    password: c.redis_password,
    connectTimeout: 5000,
    // Keep retrying forever with a capped delay: Redis restarts must not kill workers.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true
  }
  const url = new URL(c.redis_url)
  if (url.protocol === 'unix:') return { ...base, path: decodeURIComponent(url.pathname), db: Number(url.searchParams.get('db') ?? 0) }
  return { ...base, url: c.redis_url }
}

export function connectRedis (c: Pick<Config, 'redis_url' | 'redis_password'>, name: string): Redis {
  const { url, ...options } = redisOptions(c)
  const client = url !== undefined ? new Redis(url, { ...options, connectionName: name }) : new Redis({ ...options, connectionName: name })
  // Errors surface through commands and /ready; an unhandled 'error' event must not crash the worker.
  client.on('error', () => {})
  return client
}

/** PING with a deadline: true when Redis answered in time. */
export async function pingRedis (client: Redis, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    const answer = await Promise.race([
      client.ping(),
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error('timeout')), timeoutMs) })
    ])
    return answer === 'PONG'
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}
