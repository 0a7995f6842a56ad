// Redis facts judged against the checklist: reachable, version >= 5, AOF on, a password
// unless bound to loopback, noeviction, persistence dir writable.
import fs from 'node:fs'
import { blocked, fail, ok, unknown, type CheckItem } from './item'
import type { RedisFacts } from './redis-facts'

export const TITLES = {
  reachable: 'Redis answers',
  version: 'Redis is version 5 or later',
  aof: 'Redis appends every write to its AOF (appendonly yes)',
  password: 'Redis needs a password unless it listens on loopback only',
  eviction: 'Redis never evicts keys (maxmemory-policy noeviction)',
  dir: 'Redis can write its persistence dir'
}

export function redisItems (f: RedisFacts, prefix = ''): CheckItem[] {
  if (f.error !== undefined) {
    const because = 'Redis does not answer'
    return [
      fail('redis.reachable', TITLES.reachable, `${prefix}${f.target}: ${f.error}`, 'start Redis (systemctl start redis-server), or fix redis_url / redis_password'),
      ...(['version', 'aof', 'password', 'eviction', 'dir'] as const).map((k) => blocked(`redis.${k}`, TITLES[k], because))
    ]
  }
  return [
    ok('redis.reachable', TITLES.reachable, `${prefix}${f.target}`),
    versionItem(f.info.redis_version),
    aofItem(f),
    passwordItem(f),
    evictionItem(f),
    dirItem(f)
  ]
}

export function versionItem (version: string | undefined): CheckItem {
  if (version === undefined) return unknown('redis.version', TITLES.version, 'the version is not known')
  return Number.parseInt(version, 10) >= 5
    ? ok('redis.version', TITLES.version, `redis ${version}`)
    : fail('redis.version', TITLES.version, `redis ${version} is older than 5.0, the minimum the deployment guide requires`, 'upgrade Redis to 5 or later')
}

/** A CONFIG GET value, else the INFO field that carries the same fact. */
function setting (f: RedisFacts, key: string, infoKey: string, fromInfo: (v: string) => string = (v) => v): string | undefined {
  const v = f.config[key]
  if (typeof v === 'string') return v
  const i = f.info[infoKey]
  return i === undefined ? undefined : fromInfo(i)
}

function aofItem (f: RedisFacts): CheckItem {
  const aof = setting(f, 'appendonly', 'aof_enabled', (v) => (v === '1' ? 'yes' : 'no'))
  if (aof === undefined) return unknown('redis.aof', TITLES.aof, `cannot read appendonly: ${configError(f, 'appendonly')}`, 'check appendonly yes in redis.conf')
  return aof === 'yes'
    ? ok('redis.aof', TITLES.aof, 'appendonly yes')
    : fail('redis.aof', TITLES.aof, 'appendonly is no: a Redis restart loses every write since the last snapshot, queued jobs included',
      'redis-cli CONFIG SET appendonly yes, and appendonly yes in redis.conf')
}

function evictionItem (f: RedisFacts): CheckItem {
  const policy = setting(f, 'maxmemory-policy', 'maxmemory_policy')
  if (policy === undefined) return unknown('redis.eviction', TITLES.eviction, `cannot read maxmemory-policy: ${configError(f, 'maxmemory-policy')}`, 'check maxmemory-policy noeviction in redis.conf')
  return policy === 'noeviction'
    ? ok('redis.eviction', TITLES.eviction, 'maxmemory-policy noeviction')
    : fail('redis.eviction', TITLES.eviction, `maxmemory-policy is ${policy}${policy === 'allkeys-lru' ? ' (as the old deployment guide suggested)' : ''}: when Redis reaches maxmemory it deletes keys to make room, queued jobs and execution records included`,
      'redis-cli CONFIG SET maxmemory-policy noeviction, and maxmemory-policy noeviction in redis.conf')
}

function passwordItem (f: RedisFacts): CheckItem {
  const id = 'redis.password'
  if (f.passwordRequired === true) return ok(id, TITLES.password, 'a password is required')
  if (f.passwordRequired === undefined) return unknown(id, TITLES.password, 'could not tell whether Redis answers without a password')
  const fix = 'set requirepass in redis.conf and redis_password (or the password in redis_url), or bind Redis to 127.0.0.1 -::1 only'
  const bind = f.config.bind
  const port = f.config.port
  if (port === '0') return ok(id, TITLES.password, 'no password, but Redis listens on a unix socket only (port 0)')
  if (typeof bind !== 'string') {
    return f.local
      ? unknown(id, TITLES.password, `no password; cannot read bind: ${configError(f, 'bind')}`, fix)
      : fail(id, TITLES.password, `${f.target} answers over the network without a password`, fix)
  }
  const addresses = bind.split(/\s+/).filter((a) => a !== '').map((a) => a.replace(/^-/, ''))
  const loopback = addresses.length > 0 && addresses.every((a) => /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(a))
  return loopback
    ? ok(id, TITLES.password, `no password, but bound to loopback only (bind ${bind})`)
    : fail(id, TITLES.password, `no password and bound to ${bind === '' ? 'every address' : bind}: anyone who reaches the port can read and delete the queue`, fix)
}

function dirItem (f: RedisFacts): CheckItem {
  const id = 'redis.dir'
  // Redis's own record of its last writes, visible from anywhere.
  for (const key of ['aof_last_write_status', 'rdb_last_bgsave_status', 'aof_last_bgrewrite_status']) {
    if (f.info[key] === 'err') return fail(id, TITLES.dir, `Redis reports ${key}:err: it could not write its persistence files`, 'look at the Redis log; make its dir writable by the redis user and free disk space')
  }
  const dir = f.config.dir
  if (typeof dir !== 'string') return unknown(id, TITLES.dir, `cannot read dir: ${configError(f, 'dir')}`)
  if (!f.local) return unknown(id, TITLES.dir, `Redis runs on another machine (${f.target}); its dir ${dir} cannot be checked from here`)
  const owner = processIds(Number(f.info.process_id))
  if (owner === undefined) return unknown(id, TITLES.dir, `the redis-server process (pid ${f.info.process_id ?? '?'}) is not visible here (another container?)`)
  let stat: fs.Stats
  try {
    stat = fs.statSync(dir)
  } catch (err) {
    return fail(id, TITLES.dir, `dir ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'create it, owned by the user redis-server runs as')
  }
  return stat.isDirectory() && writableBy(stat, owner)
    ? ok(id, TITLES.dir, `${dir} is writable by the redis-server process (uid ${owner.uid})`)
    : fail(id, TITLES.dir, `${dir} is not a directory writable by the redis-server process (uid ${owner.uid})`, `chown that user ${dir} and chmod u+rwx ${dir}`)
}

function configError (f: RedisFacts, key: string): string {
  const v = f.config[key]
  return v instanceof Error ? `CONFIG is disabled or renamed (${v.message})` : 'not reported'
}

interface Ids { uid: number, gids: number[] }

/** The effective uid and groups of a redis-server process, from /proc. */
function processIds (pid: number): Ids | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    if (!fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis')) return undefined
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const field = (name: string): number[] => (status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '').split(/\s+/).filter((x) => x !== '').map(Number)
    const uid = field('Uid')[1]
    const gid = field('Gid')[1]
    return uid === undefined ? undefined : { uid, gids: [gid, ...field('Groups')] }
  } catch {
    return undefined
  }
}

function writableBy (stat: fs.Stats, who: Ids): boolean {
  if (who.uid === 0) return true
  if (stat.uid === who.uid) return (stat.mode & 0o300) === 0o300
  if (who.gids.includes(stat.gid)) return (stat.mode & 0o030) === 0o030
  return (stat.mode & 0o003) === 0o003
}
