// The one-line summary the supervisor sends as systemd STATUS= (shown by systemctl status):
// worker and execution counts, then whatever an operator should know about.
export interface StatusFacts {
  http: { ready: number, target: number }
  queue: { ready: number, target: number }
  executions: number
  stopping: 'graceful' | 'fast' | undefined
  /** generation a reload is bringing up, if one is */
  reloading: number | undefined
  /** slots not simply up (crash loops, backoff), as Slot.describe() says */
  problems: string[]
  /** an invalid config at the last HUP, a failed reload */
  notices: string[]
}

export function statusLine (f: StatusFacts): string {
  const parts = [
    `http ${f.http.ready}/${f.http.target}, queue ${f.queue.ready}/${f.queue.target} workers ready`,
    `${f.executions} execution${f.executions === 1 ? '' : 's'} running`
  ]
  if (f.stopping !== undefined) parts.push(`stopping (${f.stopping})`)
  if (f.reloading !== undefined) parts.push(`reloading to generation ${f.reloading}`)
  parts.push(...f.problems, ...f.notices)
  return parts.join('; ')
}
