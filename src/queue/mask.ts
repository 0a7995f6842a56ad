// Replaces every occurrence of a secret in robot output with ***: the plain value and its
// base64, base64url and URL-encoded forms, also when a value arrives split across chunks
// (the masker holds back the last bytes that could start a secret until more arrive).

export const MASK = '***'

export function secretForms (values: Iterable<string>): string[] {
  const forms = new Set<string>()
  for (const v of values) {
    if (v.length < 3) continue // masking "a" would shred every log; such secrets are not secret
    forms.add(v)
    const b = Buffer.from(v)
    forms.add(b.toString('base64'))
    forms.add(b.toString('base64').replace(/=+$/, ''))
    forms.add(b.toString('base64url'))
    forms.add(encodeURIComponent(v))
    forms.add(encodeURIComponent(v).replace(/%20/g, '+'))
  }
  return [...forms].filter((f) => f.length >= 3).sort((a, b) => b.length - a.length)
}

export class Masker {
  private readonly forms: string[]
  private readonly hold: number
  private pending = ''

  constructor (secrets: Iterable<string>) {
    this.forms = secretForms(secrets)
    this.hold = this.forms.length > 0 ? this.forms[0].length - 1 : 0
  }

  get active (): boolean { return this.forms.length > 0 }

  /** Masks text; returns what is safe to emit now (a tail may be held back). */
  push (text: string): string {
    if (!this.active) return text
    const masked = this.replace(this.pending + text)
    // Hold back a tail that could be the start of a secret split across chunks.
    const cut = Math.max(0, masked.length - this.hold)
    let safe = cut
    for (let i = cut; i < masked.length; i++) {
      const tail = masked.slice(i)
      if (this.forms.some((f) => f.startsWith(tail))) { safe = i; break }
      safe = masked.length
    }
    this.pending = masked.slice(safe)
    return masked.slice(0, safe)
  }

  /** Everything held back (at the end of the output). */
  flush (): string {
    const rest = this.pending
    this.pending = ''
    return rest
  }

  private replace (text: string): string {
    for (const f of this.forms) if (text.includes(f)) text = text.split(f).join(MASK)
    return text
  }
}
