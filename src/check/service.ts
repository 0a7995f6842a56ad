// Auto-start (systemd unit enabled) and log rotation (a logrotate file for our logs).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { Config } from '../config/settings'
import { fail, ok, unknown, warn, type CheckItem } from './item'

export const LOGROTATE_FILE = '/etc/logrotate.d/robotrunner'
const UNIT = 'robotrunner'

export function checkSystemd (): CheckItem {
  const title = 'the systemd unit is installed and enabled'
  const install = `install the unit as /etc/systemd/system/${UNIT}.service, then systemctl daemon-reload && systemctl enable ${UNIT}`
  // The test sd_booted(3) makes: systemd is PID 1 when this directory exists.
  if (!fs.existsSync('/run/systemd/system')) return unknown('systemd', title, 'systemd is not running on this machine; start robotrunner with your init system')
  const res = spawnSync('systemctl', ['is-enabled', UNIT], { encoding: 'utf8', timeout: 5000 })
  if (res.error !== undefined) return unknown('systemd', title, `cannot run systemctl: ${res.error.message}`)
  const state = res.stdout.trim()
  if (state === 'enabled') return ok('systemd', title, `${UNIT}.service is enabled`)
  if (state === 'enabled-runtime') return warn('systemd', title, `${UNIT}.service is enabled until the next reboot only`, `systemctl enable ${UNIT}`)
  if (state === 'disabled') return fail('systemd', title, `${UNIT}.service is installed but disabled: it will not start at boot`, `systemctl enable ${UNIT}`)
  if (state === '' || state === 'not-found') return fail('systemd', title, `${UNIT}.service is not installed`, install)
  return fail('systemd', title, `${UNIT}.service is ${state}`, install)
}

export function checkLogrotate (c: Pick<Config, 'log_file' | 'access_log'>, file = LOGROTATE_FILE): CheckItem {
  const title = 'the log files are rotated (logrotate)'
  const dirs = [...new Set([c.log_file, c.access_log].filter((f) => f !== '-').map((f) => path.dirname(f)))]
  if (dirs.length === 0) return ok('logrotate', title, 'log_file and access_log are standard output (the journal rotates them)')
  const fix = `install ${file} rotating ${dirs.map((d) => `${d}/*.log`).join(' ')} with postrotate: systemctl kill -s USR1 --kill-who=main ${UNIT} (USR1 reopens the logs)`
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT'
      ? fail('logrotate', title, `${file} is not installed: the logs grow without bound`, fix)
      : unknown('logrotate', title, `cannot read ${file}: ${code ?? String(err)}`)
  }
  const missing = dirs.filter((d) => !text.includes(`${d}/`))
  return missing.length === 0
    ? ok('logrotate', title, `${file} covers ${dirs.join(', ')}`)
    : warn('logrotate', title, `${file} does not mention ${missing.join(', ')}`, fix)
}
