// Robot Framework's output.xml totals -> {pass, fail, skip}. Reads the <total> section's
// first <stat> (RF 4+: pass/fail/skip; RF 3: pass/fail). Exit codes, for the README:
// 0 all passed, 1-249 that many failed tests (250 = 250 or more), 251 help/version,
// 252 invalid data or options, 253 stopped by the user, 255 unexpected internal error.
import fs from 'node:fs/promises'
import path from 'node:path'

export interface RfResult { pass: number, fail: number, skip: number }

const MAX_SCAN_BYTES = 64 * 1024 * 1024

export async function readRfResult (artifactsDir: string): Promise<RfResult | undefined> {
  const file = path.join(artifactsDir, 'output.xml')
  let xml: string
  try {
    const stat = await fs.stat(file)
    if (!stat.isFile()) return undefined
    // The statistics are near the end of output.xml; read only the tail of a big one.
    const fh = await fs.open(file, 'r')
    try {
      const size = Math.min(stat.size, MAX_SCAN_BYTES)
      const buf = Buffer.alloc(size)
      await fh.read(buf, 0, size, stat.size - size)
      xml = buf.toString('utf8')
    } finally {
      await fh.close()
    }
  } catch {
    return undefined
  }
  const total = /<total>([\s\S]*?)<\/total>/.exec(xml)
  if (total === null) return undefined
  // RF 3 lists "Critical Tests" first, RF 4+ only "All Tests": take All Tests, else the last.
  const stats = [...total[1].matchAll(/<stat\b([^>]*)>([^<]*)<\/stat>/g)]
  const stat = stats.find((m) => m[2].trim() === 'All Tests') ?? stats.at(-1)
  if (stat === undefined) return undefined
  const attr = (name: string): number => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(stat[1])?.[1] ?? 0)
  return { pass: attr('pass'), fail: attr('fail'), skip: attr('skip') }
}
