// Secrets cross Redis (HTTP worker -> queue worker) sealed with AES-256-GCM under a key
// derived from the token, so Redis memory, its AOF/RDB files and backups never hold a
// robot's secret in clear text. Deleting the key from Redis does not erase old AOF lines;
// sealing does make them useless without the runner's token.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const IV_BYTES = 12
const TAG_BYTES = 16

export function secretKey (token: string, machineId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token, 'robotrunner-secrets', machineId, 32))
}

export function seal (key: Buffer, plaintext: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
}

export function open (key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES))
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
}
