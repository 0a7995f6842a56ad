// `robotrunner check`: the deployment guide's production checklist as far as a program can
// tell, and the serious part of it that the supervisor logs at start-up.
import type { Config } from '../config/settings'
import { makeRedactor, secretValues } from '../config/redact'
import { checkCertificates } from './certs'
import { checkConfig } from './config'
import { checkDirs } from './dirs'
import { unknown, type CheckItem } from './item'
import { checkPort } from './port'
import { checkRedis } from './redis'
import { checkLogrotate, checkSystemd } from './service'
import { checkSystem } from './system'

export type { CheckItem, Status } from './item'

/** Every item of the checklist for the configuration args and env give, secrets blanked. */
export async function runChecklist (args: string[], env: NodeJS.ProcessEnv): Promise<CheckItem[]> {
  const { item, config } = checkConfig(args, env)
  if (config === undefined) return [item, unknown('checks', 'the rest of the checklist', 'not run: it needs a configuration that loads (required keys present, values of the right types)')]
  return redacted(config, [item, ...await checksFor(config)])
}

async function checksFor (c: Config): Promise<CheckItem[]> {
  const groups: Array<[string, () => CheckItem[] | Promise<CheckItem[]>]> = [
    ['tls', () => checkCertificates(c)],
    ['redis', async () => await checkRedis(c)],
    ['dirs', () => checkDirs(c)],
    ['system', () => checkSystem(c)],
    ['port', async () => [await checkPort(c)]],
    ['systemd', () => [checkSystemd()]],
    ['logrotate', () => [checkLogrotate(c)]]
  ]
  const items: CheckItem[] = []
  for (const [id, run] of groups) {
    try {
      items.push(...await run())
    } catch (err) {
      // A surprise in one check (an odd /proc, a Redis ACL) must not hide the others.
      items.push(unknown(id, `the ${id} checks`, `the check itself failed: ${err instanceof Error ? err.message : String(err)}`))
    }
  }
  return items
}

// What must not go unnoticed: an expired (or nearly) certificate, and a Redis that can lose jobs.
const SERIOUS = new Set(['tls.expiry', 'redis.aof', 'redis.eviction'])

/**
 * One line per serious failed check, for the supervisor to log at start-up. Never throws;
 * takes up to a few seconds when Redis does not answer (then says nothing about Redis:
 * /ready reports that).
 */
export async function seriousStartupProblems (config: Config): Promise<string[]> {
  try {
    const items = redacted(config, [...checkCertificates(config), ...await checkRedis(config)])
    return items
      .filter((i) => i.status === 'fail' && SERIOUS.has(i.id))
      .map((i) => `check failed: ${i.title}: ${i.reason}${i.fix !== undefined ? ` (fix: ${i.fix})` : ''}`)
  } catch (err) {
    return [`check could not run: ${makeRedactor(secretValues(config))(err instanceof Error ? err.message : String(err))}`]
  }
}

function redacted (c: Config, items: CheckItem[]): CheckItem[] {
  const redact = makeRedactor(secretValues(c))
  return items.map((i) => ({ ...i, title: redact(i.title), reason: redact(i.reason), ...(i.fix !== undefined ? { fix: redact(i.fix) } : {}) }))
}
