// What one short visit to Redis tells: INFO, a few CONFIG GETs, and whether it answers
// without a password. Every command has a deadline; a missing answer is recorded, not thrown.
import type Redis from 'ioredis'
import type { Config } from '../config/settings'
import { connectRedis } from '../state/redis'

export interface RedisFacts {
  /** redis_url with any password removed */
  target: string
  /** on this machine: a unix socket or a loopback host */
  local: boolean
  /** why Redis could not be used; the rest is empty then */
  error?: string
  info: Record<string, string>
  /** CONFIG GET values; an Error when CONFIG is disabled, renamed or denied */
  config: Record<string, string | Error>
  /** undefined when the anonymous probe could not tell */
  passwordRequired?: boolean
}

const CONFIG_KEYS = ['appendonly', 'maxmemory-policy', 'bind', 'port', 'dir']
const DEADLINE_MS = 3000
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/

type RedisTarget = Pick<Config, 'redis_url' | 'redis_password'> & { redis_url: string }

export async function gatherRedisFacts (c: RedisTarget): Promise<RedisFacts> {
  const url = new URL(c.redis_url)
  const facts: RedisFacts = { target: displayUrl(c.redis_url), local: url.protocol === 'unix:' || LOOPBACK.test(url.hostname), info: {}, config: {} }
  let lastError: Error | undefined
  const client = connectRedis(c, 'robotrunner check')
  client.on('error', (err: Error) => { lastError = err })
  try {
    try {
      await deadline(client.ping())
    } catch (err) {
      facts.error = (lastError ?? err as Error).message
      return facts
    }
    // INFO may be denied by an ACL: the items that need it then say they cannot tell.
    facts.info = parseInfo(await deadline(client.info()).catch(() => ''))
    for (const key of CONFIG_KEYS) facts.config[key] = await configGet(client, key)
    facts.passwordRequired = await needsPassword(c.redis_url)
    return facts
  } finally {
    client.disconnect()
  }
}

async function configGet (client: Redis, key: string): Promise<string | Error> {
  try {
    const answer = await deadline(client.call('CONFIG', 'GET', key)) as string[]
    return answer[1] ?? new Error(`CONFIG GET ${key} returned nothing`)
  } catch (err) {
    return err as Error
  }
}

/** Connects with no credentials at all: PONG = open to anyone who can reach it. */
async function needsPassword (redisUrl: string): Promise<boolean | undefined> {
  const url = new URL(redisUrl)
  url.username = ''
  url.password = ''
  const probe = connectRedis({ redis_url: url.toString(), redis_password: undefined }, 'robotrunner check (no password)')
  try {
    return (await deadline(probe.ping())) !== 'PONG'
  } catch (err) {
    return /NOAUTH|WRONGPASS|NOPERM/.test((err as Error).message) ? true : undefined
  } finally {
    probe.disconnect()
  }
}

function parseInfo (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

export function displayUrl (redisUrl: string): string {
  try {
    const url = new URL(redisUrl)
    if (url.password !== '') url.password = '***'
    return url.toString()
  } catch {
    return '(unparsable redis_url)'
  }
}

async function deadline<T> (p: Promise<T>, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms) })])
  } finally {
    clearTimeout(timer)
  }
}
