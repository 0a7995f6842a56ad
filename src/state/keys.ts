// The one place Redis key names are built: everything lives under rr:<machine_id>:
// so several runners can share one Redis (API.md §6).

export type Keys = ReturnType<typeof makeKeys>

export function makeKeys (machineId: string) {
  const prefix = `rr:${machineId}:`
  return {
    prefix,
    /** any key of this runner: rr:<machine_id>:<part>:<part>... */
    key: (...parts: Array<string | number>): string => prefix + parts.join(':'),
    heartbeat: (role: string, slot: number): string => `${prefix}heartbeat:${role}:${slot}`,
    /** @fastify/rate-limit appends the client key to this namespace */
    rateLimitNamespace: `${prefix}ratelimit:`,
    /** bee-queue's own prefix: its keys become rr:<machine_id>:bq:<queue>:... */
    queuePrefix: `${prefix}bq`
  }
}
