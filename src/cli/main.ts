#!/usr/bin/env node
// The robotrunner command. `robotrunner start [--config PATH] [--key value ...]`
// runs the supervisor in the foreground (systemd manages it; there is no daemon mode).
import { loadConfig, ConfigError, EX_CONFIG } from '../config/load'
import { startCommand } from './start'

const USAGE = `usage: robotrunner start [--config PATH] [--<key> <value> ...]
  start   run the supervisor in the foreground
Configuration: config.json (--config, RR_CONFIG or ./config/config.json), then RR_<KEY> env, then --<key> flags.`

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'start': {
      let loaded
      try {
        loaded = loadConfig({ argv: rest, env: process.env })
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        for (const problem of err.problems) process.stderr.write(`robotrunner: config error: ${problem}\n`)
        return EX_CONFIG
      }
      return await startCommand(loaded)
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n')
      return command === undefined ? 64 : 0
    default:
      process.stderr.write(`robotrunner: unknown command "${command}"\n${USAGE}\n`)
      return 64
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`robotrunner: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
