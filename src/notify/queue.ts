// The notification queue in Redis: typed calls of the scripts in ./lua. No HTTP here.
import { randomBytes } from 'node:crypto'
import type Redis from 'ioredis'
import type { Keys } from '../state/keys'
import { ACK, CLAIM, FAIL, RECOVER, RELEASE, ROUTE } from './lua'

/** One outbox entry as the state-change scripts wrote it, plus its stream id. */
export interface OutboxEntry {
  id: string
  kind: 'execution' | 'machine'
  key: string
  seq: string
  status: string
  /** '' = none (the first event) */
  previous: string
  /** ISO time of the state change */
  ts: string
  /** execution events: JSON of the execution's Redis hash at the change */
  record?: string
}

/** A list this worker holds the lease of, with the head to deliver. */
export interface Claim {
  name: string
  token: string
  entry: OutboxEntry
  /** failed attempts of this head so far */
  attempts: number
}

type Script = 'nqRoute' | 'nqClaim' | 'nqAck' | 'nqFail' | 'nqRelease' | 'nqRecover'
type ScriptRedis = Redis & Record<Script, (...args: Array<string | number>) => Promise<unknown>>

export class NotifyQueue {
  private readonly redis: ScriptRedis
  // Unique per process, so a lease token never matches another worker's.
  private readonly owner = `${process.pid}-${randomBytes(4).toString('hex')}`
  private claims = 0

  constructor (redis: Redis, private readonly keys: Keys, private readonly leaseMs: number) {
    const scripts: Record<Script, string> = { nqRoute: ROUTE, nqClaim: CLAIM, nqAck: ACK, nqFail: FAIL, nqRelease: RELEASE, nqRecover: RECOVER }
    for (const [name, lua] of Object.entries(scripts)) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 5, lua })
    }
    this.redis = redis as ScriptRedis
  }

  private common (now = Date.now()): Array<string | number> {
    const k = this.keys
    return [k.outbox, k.notifyDue, k.notifyLease, k.notifyAttempts, k.notifyStats, k.notifyQueuePrefix, now]
  }

  /** Moves up to max outbox entries into their lists; returns how many moved. */
  async route (max: number): Promise<number> {
    return Number(await this.redis.nqRoute(...this.common(), max))
  }

  async claim (max: number): Promise<Claim[]> {
    const now = Date.now()
    const prefix = `${this.owner}:${++this.claims}:`
    const rows = await this.redis.nqClaim(...this.common(now), max, now + this.leaseMs, prefix) as Array<[string, string, string]>
    return rows.map(([name, head, attempts]) => ({ name, token: prefix + name, entry: JSON.parse(head) as OutboxEntry, attempts: Number(attempts) }))
  }

  /** The head was delivered. Returns the next claim of the same list while the lease holds. */
  async ack (c: Claim): Promise<Claim | undefined> {
    const now = Date.now()
    const next = await this.redis.nqAck(...this.common(now), c.name, c.entry.id, c.token, now + this.leaseMs) as string | null
    return next === null ? undefined : { name: c.name, token: c.token, entry: JSON.parse(next) as OutboxEntry, attempts: 0 }
  }

  /** Records a failed attempt: retry at nextAt, or drop the head when giveUp. */
  async fail (c: Claim, attempts: number, nextAt: number, giveUp: boolean): Promise<'retry' | 'given_up' | 'lost'> {
    return await this.redis.nqFail(...this.common(), c.name, c.entry.id, c.token, attempts, nextAt, giveUp ? '1' : '0') as 'retry' | 'given_up' | 'lost'
  }

  async release (c: Claim): Promise<void> {
    await this.redis.nqRelease(...this.common(), c.name, c.token)
  }

  /** Makes lists waiting out a backoff due now; returns how many. */
  async recover (max: number): Promise<number> {
    return Number(await this.redis.nqRecover(...this.common(), max))
  }

  /** When the earliest list is due (ms), or undefined when nothing waits. */
  async nextDue (): Promise<number | undefined> {
    const first = await this.redis.zrange(this.keys.notifyDue, 0, 0, 'WITHSCORES')
    return first.length === 2 ? Number(first[1]) : undefined
  }
}
