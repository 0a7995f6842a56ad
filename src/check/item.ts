// One line of the production checklist: what should hold, whether it does here, why, and the fix.
export type Status = 'ok' | 'fail' | 'warn' | 'unknown'

export interface CheckItem {
  /** stable, dotted (tls.expiry), for automation */
  id: string
  /** what should hold, phrased as the checklist line */
  title: string
  status: Status
  reason: string
  /** what to do; absent when nothing is to be done */
  fix?: string
}

type Make = (id: string, title: string, reason: string, fix?: string) => CheckItem

const make = (status: Status): Make => (id, title, reason, fix) => ({ id, title, status, reason, ...(fix !== undefined ? { fix } : {}) })

export const ok = make('ok')
export const fail = make('fail')
export const warn = make('warn')
export const unknown = make('unknown')

/** The item for a check that needs another one that failed first. */
export function blocked (id: string, title: string, because: string): CheckItem {
  return unknown(id, title, `not checked: ${because}`)
}
