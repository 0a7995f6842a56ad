// Rules that span several keys or touch the filesystem; run after types are valid.
import fs from 'node:fs'
import type { Config } from './settings'

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

export function checkRules (c: Config, where: (key: string) => string): string[] {
  const problems: string[] = []
  const bad = (key: string, reason: string): void => { problems.push(`${key} (${where(key)}): ${reason}`) }

  if (!c.dev && c.token.length < 32) bad('token', 'must be at least 32 characters (generate one: openssl rand -hex 32), unless dev is true')
  if (!c.ssl_enabled && !c.dev && !LOOPBACK.has(c.host)) bad('ssl_enabled', `false is refused on a non-loopback host (${c.host}) unless dev is true`)
  if (c.notify_url !== undefined) {
    let url: URL | undefined
    try { url = new URL(c.notify_url) } catch { bad('notify_url', 'not a valid URL') }
    if (url !== undefined && url.protocol !== 'https:' && url.protocol !== 'http:') bad('notify_url', 'must be an http(s) URL')
    else if (url !== undefined && c.ssl_enabled && url.protocol !== 'https:') bad('notify_url', 'must be https:// when ssl_enabled is true')
  }
  if (c.ssl_enabled) {
    for (const key of ['cert_file', 'key_file', 'ca_cert'] as const) {
      try {
        fs.accessSync(c[key], fs.constants.R_OK)
      } catch (err) {
        bad(key, `cannot read ${c[key]}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
      }
    }
  }
  return problems
}
