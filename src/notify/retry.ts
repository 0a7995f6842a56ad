// The retry policy of API.md §4: exponential backoff from 1 s, doubling, capped at
// 5 min; a notification still undelivered 24 h after the change it reports is dropped.

export const FIRST_RETRY_MS = 1000
export const MAX_RETRY_MS = 5 * 60 * 1000
export const GIVE_UP_MS = 24 * 3600 * 1000

/** Delay before the next attempt after `attempts` failed ones (1 -> 1 s, 2 -> 2 s, ...). */
export function retryDelay (attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, Math.min(attempts - 1, 30)), MAX_RETRY_MS)
}

/** Checked after a failed attempt, so every notification is tried at least once. */
export function shouldGiveUp (changedAt: number, now: number): boolean {
  return !Number.isFinite(changedAt) || now - changedAt >= GIVE_UP_MS
}
