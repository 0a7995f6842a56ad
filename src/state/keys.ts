// The one place Redis key names are built: everything lives under rr:<machine_id>:
// so several runners can share one Redis (API.md §6).

export type Keys = ReturnType<typeof makeKeys>

export function makeKeys (machineId: string) {
  const prefix = `rr:${machineId}:`
  return {
    prefix,
    /** any key of this runner: rr:<machine_id>:<part>:<part>... */
    key: (...parts: Array<string | number>): string => prefix + parts.join(':'),
    /** one per worker process: during a reload old and new workers of a slot both live */
    heartbeat: (role: string, slot: number, pid: number): string => `${prefix}heartbeat:${role}:${slot}:${pid}`,
    /** execution record (hash); the Lua scripts get execPrefix to build it for popped ids */
    exec: (id: string): string => `${prefix}exec:${id}`,
    execPrefix: `${prefix}exec:`,
    /** secrets of one execution (deleted once it can no longer start again) */
    secrets: (id: string): string => `${prefix}secrets:${id}`,
    secretsPrefix: `${prefix}secrets:`,
    /** live log of one execution (Redis Stream, bounded) */
    log: (id: string): string => `${prefix}log:${id}`,
    /** queued execution ids, scored by priority then arrival */
    pending: `${prefix}pending`,
    /** ids of running executions */
    running: `${prefix}running`,
    /** every execution id scored by created_at (ms), for listing and retention */
    index: `${prefix}index`,
    /** notification outbox (Redis Stream), written in the same script as each state change */
    outbox: `${prefix}outbox`,
    /** undelivered notifications moved out of the outbox: one list per execution (notify:q:exec:<id>) or the machine (notify:q:machine), in seq order */
    notifyQueuePrefix: `${prefix}notify:q:`,
    /** those lists scored by next attempt (ms); while a worker delivers a list's head, the score is its lease expiry */
    notifyDue: `${prefix}notify:due`,
    /** list name -> lease token of the worker delivering its head */
    notifyLease: `${prefix}notify:lease`,
    /** list name -> failed attempts of its head (drives the backoff) */
    notifyAttempts: `${prefix}notify:attempts`,
    /** notification counters for metrics: delivered, failed (attempts), given_up */
    notifyStats: `${prefix}notify:stats`,
    /** machine status, its notification seq, the queue order counter, draining flag */
    machine: `${prefix}machine`,
    /** pub/sub: a job was queued or a slot freed */
    wakeChannel: `${prefix}wake`,
    /** pub/sub: cancel the execution named in the message */
    cancelChannel: `${prefix}cancel`,
    /** lock so one worker at a time prunes old executions */
    retentionLock: `${prefix}retention-lock`,
    /** @fastify/rate-limit appends the client key to this namespace */
    rateLimitNamespace: `${prefix}ratelimit:`,
    /** bee-queue's own prefix: its keys become rr:<machine_id>:bq:<queue>:... */
    queuePrefix: `${prefix}bq`
  }
}
