// The configuration, through the same loader as `start`. Problems are one failed item; the
// other checks still run against the configuration read with the rules that block them relaxed
// (dev skips the token rule, ssl_enabled=false skips "certificate files readable"), so a
// missing certificate is explained by the certificate checks instead of hiding everything.
import { ConfigError, loadConfig } from '../config/load'
import type { Config } from '../config/settings'
import { fail, ok, warn, type CheckItem } from './item'

export interface ConfigCheck {
  item: CheckItem
  /** undefined when even the relaxed read fails (a value of the wrong type, unknown keys...) */
  config?: Config
}

const TITLE = 'the configuration is valid'

export function checkConfig (args: string[], env: NodeJS.ProcessEnv): ConfigCheck {
  try {
    const { config, configPath } = loadConfig({ argv: args, env })
    const item = config.dev
      ? warn('config', TITLE, `${configPath}: valid, but dev is true (short tokens and plain HTTP allowed)`, 'set dev to false in production')
      : ok('config', TITLE, `${configPath}: valid`)
    return { item, config }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const item = fail('config', TITLE, err.problems.join('; '), 'fix each problem named (robotrunner start refuses to run with them, exit 78)')
    return { item, config: relaxed(args, env) }
  }
}

function relaxed (args: string[], env: NodeJS.ProcessEnv): Config | undefined {
  try {
    return loadConfig({ argv: [...args, '--dev'], env }).config
  } catch { /* maybe the certificate rule: try without it */ }
  try {
    // Only the ssl_enabled=true rules differ, so ssl_enabled was true.
    return { ...loadConfig({ argv: [...args, '--dev', '--ssl_enabled=false'], env }).config, ssl_enabled: true }
  } catch {
    return undefined
  }
}
