// The checklist for people (one line per item, the fix under it) and for programs (JSON).
import type { CheckItem, Status } from './item'

const MARK: Record<Status, string> = { ok: '✓', fail: '✗', warn: '!', unknown: '?' }

export function renderText (items: CheckItem[]): string {
  const lines: string[] = []
  for (const i of items) {
    lines.push(`${MARK[i.status]} ${i.title}: ${i.reason}`)
    if (i.status !== 'ok' && i.fix !== undefined) lines.push(`    fix: ${i.fix}`)
  }
  const count = (s: Status): number => items.filter((i) => i.status === s).length
  lines.push('', `${count('ok')} ✓ ok, ${count('warn')} ! warnings, ${count('unknown')} ? cannot tell here, ${count('fail')} ✗ failed: ${exitCode(items) === 0 ? 'passed' : 'FAILED'}`)
  return lines.join('\n') + '\n'
}

export function renderJson (items: CheckItem[]): string {
  return JSON.stringify(items.map((i) => ({ id: i.id, title: i.title, status: i.status, reason: i.reason, fix: i.fix ?? null })), null, 2) + '\n'
}

/** 0 when nothing failed; warnings and unknowns do not fail. */
export function exitCode (items: CheckItem[]): number {
  return items.some((i) => i.status === 'fail') ? 1 : 0
}
