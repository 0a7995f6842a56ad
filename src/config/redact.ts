// The secret values of a configuration and a function that blanks them out of any text.
import type { Config } from './settings'

export const REDACTED = '[REDACTED]'

export function secretValues (c: Pick<Config, 'token' | 'license_key' | 'redis_password' | 'redis_url'>): string[] {
  const values = [c.token, c.license_key, c.redis_password]
  if (c.redis_url !== undefined) {
    try {
      const password = new URL(c.redis_url).password
      if (password !== '') values.push(password, decodeURIComponent(password))
    } catch { /* not a URL: nothing to extract */ }
  }
  // Longest first, so a secret containing another is replaced whole.
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= 4))].sort((a, b) => b.length - a.length)
}

export function makeRedactor (secrets: readonly string[]): (text: string) => string {
  if (secrets.length === 0) return (text) => text
  return (text) => {
    for (const s of secrets) if (text.includes(s)) text = text.split(s).join(REDACTED)
    return text
  }
}
