// Runs the built `robotrunner check` (as production would: no tap loaders, no RR_* env)
// on a config written into a temp dir, and returns its --json items.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { Test } from 'tap'
import type { Certs } from './certs'
import { freePort } from './free-port'
import { MAIN, cleanTapEnv, nodeCommand } from './runner'
import { tmpDir } from './tmp'

export interface Item { id: string, title: string, status: string, reason: string, fix: string | null }
export interface CheckRun { code: number | null, stdout: string, items: Map<string, Item>, configPath: string }


export interface CheckOptions {
  certs: Certs
  machineId: string
  token: string
  licenseKey: string
  /** false: the human report instead of --json */
  json?: boolean
  /** run against this config file instead of writing one */
  configPath?: string
}

export async function runCheck (t: Test, overrides: Record<string, unknown>, opts: CheckOptions): Promise<CheckRun> {
  const dir = tmpDir(t, 'rr-check')
  let configPath = opts.configPath
  if (configPath === undefined) {
    configPath = path.join(dir, 'config.json')
    fs.writeFileSync(configPath, JSON.stringify({
      machine_id: opts.machineId,
      license_key: opts.licenseKey,
      token: opts.token,
      host: '127.0.0.1',
      port: await freePort(),
      cert_file: opts.certs.cert,
      key_file: opts.certs.key,
      ca_cert: opts.certs.ca,
      data_dir: path.join(dir, 'data'),
      // Logs to standard output need no logrotate file, which this machine may not have.
      log_file: '-',
      access_log: '-',
      ...overrides
    }))
  }
  const env = cleanTapEnv(Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RR_'))))
  const args = [MAIN, 'check', '--config', configPath, ...(opts.json === false ? [] : ['--json'])]
  const res = spawnSync(...nodeCommand(args), { cwd: dir, env, encoding: 'utf8', timeout: 30_000 })
  t.equal(res.stderr, '', 'nothing on stderr')
  const items = opts.json === false ? [] : JSON.parse(res.stdout) as Item[]
  return { code: res.status, stdout: res.stdout, items: new Map(items.map((i) => [i.id, i])), configPath }
}

// On a machine running systemd without our unit installed, that item is rightly ✗: tests ignore it.
export const failedIds = (items: Map<string, Item>): string[] => [...items.values()].filter((i) => i.status === 'fail' && i.id !== 'systemd').map((i) => i.id)
export const exitFor = (items: Map<string, Item>): number => [...items.values()].some((i) => i.status === 'fail') ? 1 : 0
