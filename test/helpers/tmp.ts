import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

interface Teardown { teardown: (fn: () => unknown) => void }

/** A fresh temp dir removed when the test ends. */
export function tmpDir (t: Teardown, name = 'rr-test'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls fn until it returns a truthy value or the time is up (then throws with what). */
export async function waitFor<T> (what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await fn()
      if (v) return v as NonNullable<T>
    } catch (err) { last = err }
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}
