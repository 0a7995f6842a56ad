// Redis against the checklist. With no redis_url, `robotrunner start` runs its own
// redis-server (cluster/embedded-redis.ts) with AOF on, noeviction and a unix socket only:
// when one is running it is checked for real, else that redis-server is installed and
// its dir can be made.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Config } from '../config/settings'
import { dirWritable } from './fs-facts'
import { blocked, fail, ok, type CheckItem } from './item'
import { TITLES, redisItems, versionItem } from './redis-items'
import { gatherRedisFacts } from './redis-facts'

const OURS = 'embedded (no redis_url): robotrunner start runs its own redis-server'

export async function checkRedis (c: Config): Promise<CheckItem[]> {
  if (c.redis_url === undefined) return await checkEmbeddedRedis(c)
  return redisItems(await gatherRedisFacts({ ...c, redis_url: c.redis_url }))
}

async function checkEmbeddedRedis (c: Config): Promise<CheckItem[]> {
  const dir = path.join(c.data_dir, 'redis')
  const socket = embeddedSocket(dir)
  if (fs.existsSync(socket)) {
    const facts = await gatherRedisFacts({ redis_url: `unix://${socket}`, redis_password: undefined })
    if (facts.error === undefined) return redisItems(facts, `${OURS}, running: `)
  }
  const version = installedVersion()
  if (version === undefined) {
    const because = 'redis-server is not installed'
    return [
      fail('redis.reachable', TITLES.reachable, `${OURS}, but redis-server is not on PATH`, 'apt-get install redis-server, or set redis_url to your Redis'),
      ...(['version', 'aof', 'password', 'eviction', 'dir'] as const).map((k) => blocked(`redis.${k}`, TITLES[k], because))
    ]
  }
  const writable = dirWritable(dir)
  return [
    ok('redis.reachable', TITLES.reachable, `${OURS} (not running now); redis-server ${version} is installed`),
    versionItem(version),
    ok('redis.aof', TITLES.aof, 'embedded: started with appendonly yes, appendfsync everysec'),
    ok('redis.password', TITLES.password, `embedded: no TCP port; unix socket ${socket} with mode 700`),
    ok('redis.eviction', TITLES.eviction, 'embedded: started with maxmemory-policy noeviction'),
    writable.ok
      ? ok('redis.dir', TITLES.dir, writable.reason)
      : fail('redis.dir', TITLES.dir, writable.reason, `make ${dir} (or its parent) writable by the service user`)
  ]
}

/** The socket path cluster/embedded-redis.ts uses (a short one under tmp when the path is too long). */
function embeddedSocket (dir: string): string {
  const socket = path.join(dir, 'redis.sock')
  if (socket.length <= 100) return socket
  return path.join(os.tmpdir(), `robotrunner-redis-${createHash('sha1').update(dir).digest('hex').slice(0, 12)}.sock`)
}

function installedVersion (): string | undefined {
  const res = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 })
  return res.status === 0 ? /v=(\d+\.\d+\.\d+)/.exec(res.stdout)?.[1] : undefined
}
