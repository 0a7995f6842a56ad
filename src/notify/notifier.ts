// The delivery loop every queue worker runs (API.md §4). Why there and not in one
// dedicated process: the queue worker already has the Redis connection, the config and a
// slot the supervisor restarts, and per-list leases (./lua) make several deliverers safe,
// so a dedicated process would add a role without adding safety.
//
// Each pass: move new outbox entries into per-execution lists, lease the lists that are
// due (up to MAX_IN_FLIGHT at once), POST each head, and on 2xx go on with the same
// list's next entry; on failure schedule the retry. Robots never wait for any of it: the
// loop has its own Redis connections, its own HTTP agent, and a deadline on every request.
import type Redis from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config/settings'
import { connectRedis } from '../state/redis'
import { makeKeys, type Keys } from '../state/keys'
import { DeliveryHealth } from './health'
import { buildNotification, notificationHeaders, type Notification } from './payload'
import { Poster } from './post'
import { NotifyQueue, type Claim } from './queue'
import { retryDelay, shouldGiveUp } from './retry'

/** concurrent POSTs per worker (each to a different execution's list) */
const MAX_IN_FLIGHT = 8
/** deadline of one POST, answer included */
const REQUEST_TIMEOUT_MS = 10_000
/** a lease outlives the request deadline, so only a dead or frozen worker loses one */
const LEASE_MS = 20_000
/** longest sleep between passes: covers a missed wake-up and retries coming due */
const IDLE_MS = 1000
/** outbox entries moved per script call, and calls per pass */
const ROUTE_BATCH = 100
const ROUTE_CALLS = 20
/** entries of one list delivered in a row before the lease is handed back */
const CHAIN_MAX = 100
/** how long a graceful stop lets in-flight POSTs finish */
const DRAIN_MS = 2000
/** how long the watcher blocks on the outbox before looking again */
const WATCH_BLOCK_MS = 5000
const RECOVER_MAX = 1000

export class Notifier {
  private readonly keys: Keys
  private readonly redis: Redis
  private readonly watcher: Redis
  private readonly queue: NotifyQueue
  private readonly poster: Poster
  private readonly health: DeliveryHealth
  private readonly inFlight = new Set<Promise<void>>()
  private readonly loops: Array<Promise<void>> = []
  private stopped = false
  private wakeUp: (() => void) | undefined
  /** a wake-up that came while the scheduler was busy: its next pause returns at once */
  private woken = false

  constructor (private readonly config: Config, private readonly logger: Logger, name: string) {
    this.keys = makeKeys(config.machine_id)
    this.redis = connectRedis(config, name)
    this.watcher = connectRedis(config, `${name}-watch`)
    this.queue = new NotifyQueue(this.redis, this.keys, LEASE_MS)
    this.poster = new Poster(config.notify_url!, config, MAX_IN_FLIGHT, REQUEST_TIMEOUT_MS, logger)
    this.health = new DeliveryHealth(logger)
  }

  start (): void {
    this.loops.push(this.schedule(), this.watch())
  }

  /** Graceful: in-flight POSTs get DRAIN_MS; what is left is handed back, due at once. */
  async stop (fast: boolean): Promise<void> {
    this.stopped = true
    this.wake()
    if (!fast) await within(DRAIN_MS, Promise.allSettled([...this.inFlight]))
    this.poster.close()
    this.watcher.disconnect()
    // The scheduler may be mid-claim: once it has ended, every claim is in inFlight and
    // hands its list back (deliverList sees stopped) before Redis is disconnected.
    await within(DRAIN_MS, Promise.allSettled(this.loops))
    await within(DRAIN_MS, Promise.allSettled([...this.inFlight]))
    this.redis.disconnect()
  }

  private wake (): void {
    if (this.wakeUp !== undefined) this.wakeUp()
    else this.woken = true
  }

  /** Sleeps ms, or less when woken (new outbox entry, a slot freed, stop). */
  private pause (ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wakeUp?.(), ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        this.wakeUp = undefined
        resolve()
      }
    })
  }

  private async schedule (): Promise<void> {
    let errors = 0
    while (!this.stopped) {
      let delay = IDLE_MS
      try {
        await this.routeAll()
        const free = MAX_IN_FLIGHT - this.inFlight.size
        if (free > 0 && !this.stopped) for (const claim of await this.queue.claim(free)) this.track(claim)
        if (this.inFlight.size < MAX_IN_FLIGHT) {
          const next = await this.queue.nextDue()
          if (next !== undefined) delay = Math.max(5, Math.min(IDLE_MS, next - Date.now()))
        }
        errors = 0
      } catch (err) {
        errors++
        delay = Math.min(100 * 2 ** errors, 5000)
        if (errors === 1 || errors % 20 === 0) this.logger.warn({ error: (err as Error).message }, 'notification queue: Redis command failed; retrying')
      }
      await this.pause(delay)
    }
  }

  /** Moves the outbox into the per-list queues, ROUTE_BATCH entries per script call. */
  private async routeAll (): Promise<void> {
    for (let i = 0; i < ROUTE_CALLS; i++) {
      if (await this.queue.route(ROUTE_BATCH) < ROUTE_BATCH) return
    }
  }

  /** Wakes the scheduler as soon as the state-change scripts append to the outbox. */
  private async watch (): Promise<void> {
    let last = '0-0'
    let errors = 0
    while (!this.stopped) {
      try {
        const res = await this.watcher.xread('COUNT', ROUTE_BATCH, 'BLOCK', WATCH_BLOCK_MS, 'STREAMS', this.keys.outbox, last)
        errors = 0
        const entries = res?.[0]?.[1] ?? []
        if (entries.length > 0) {
          last = entries[entries.length - 1][0]
          this.wake()
        }
      } catch {
        // Redis restarting or the connection closed at stop; the scheduler's poll covers the gap.
        errors++
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** errors, 5000)))
      }
    }
  }

  private track (claim: Claim): void {
    const run = this.deliverList(claim).catch((err: unknown) => {
      // Redis failed between POST and bookkeeping: the lease expires and the head is
      // sent again (at-least-once).
      this.logger.warn({ list: claim.name, error: (err as Error).message }, 'notification bookkeeping failed; will resend after the lease expires')
    }).finally(() => {
      this.inFlight.delete(run)
      this.wake()
    })
    this.inFlight.add(run)
  }

  /** Delivers one list's entries in order while they succeed and this worker holds the lease. */
  private async deliverList (first: Claim): Promise<void> {
    let claim: Claim | undefined = first
    for (let i = 0; claim !== undefined && i < CHAIN_MAX; i++) {
      if (this.stopped) break
      claim = await this.deliverHead(claim)
    }
    if (claim !== undefined) await this.queue.release(claim)
  }

  /** Returns the list's next claim after a delivery, undefined when this list is done for now. */
  private async deliverHead (claim: Claim): Promise<Claim | undefined> {
    let n: Notification
    try {
      n = buildNotification(claim.entry, this.config.machine_id)
    } catch (err) {
      // A malformed entry can never be delivered; keeping it would block its list for 24 h.
      this.logger.error({ outbox_id: claim.entry.id, error: (err as Error).message }, 'notification dropped: malformed outbox entry')
      await this.queue.fail(claim, claim.attempts + 1, Date.now(), true)
      return undefined
    }
    const res = await this.poster.post(n.raw, notificationHeaders(n.raw, this.config))
    if (res.ok) {
      if (this.health.delivered() || claim.attempts > 0) await this.queue.recover(RECOVER_MAX)
      return await this.queue.ack(claim)
    }
    if (this.stopped) {
      await this.queue.release(claim)
      return undefined
    }
    const attempts = claim.attempts + 1
    const now = Date.now()
    const delay = retryDelay(attempts)
    const outcome = await this.queue.fail(claim, attempts, now + delay, shouldGiveUp(n.changedAt, now))
    if (outcome === 'given_up') {
      this.logger.error({ notification: n.body.id, event: n.body.event, seq: n.body.seq, status: n.body.status, attempts, error: res.error }, 'notification given up: undelivered for 24 h')
    } else {
      this.health.failed(n.body.id, res.error, delay)
    }
    return undefined
  }
}

function within (ms: number, p: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([p, new Promise((resolve) => { timer = setTimeout(resolve, ms) })]).finally(() => clearTimeout(timer))
}

/** Starts delivery for a worker; stop it with the returned notifier's stop(). */
export function startNotifier (config: Config, logger: Logger, slot: number): Notifier {
  const notifier = new Notifier(config, logger.child({ component: 'notify' }), `rr-notify-${slot}`)
  notifier.start()
  return notifier
}
