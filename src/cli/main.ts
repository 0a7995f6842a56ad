#!/usr/bin/env node
// The robotrunner command: one file per subcommand, registered in COMMANDS.
import { startCommand } from './start'

interface Command {
  summary: string
  run: (args: string[]) => Promise<number>
}

const COMMANDS: Record<string, Command> = {
  start: { summary: 'run the supervisor in the foreground (systemd manages it; no daemon mode)', run: startCommand }
}

function usage (): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  return `usage: robotrunner <command> [--config PATH] [--<key> <value> ...]\n${lines.join('\n')}\n` +
    'Configuration: config.json (--config, RR_CONFIG or ./config/config.json), then RR_<KEY> env, then --<key> flags.\n'
}

async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage())
    return name === undefined ? 64 : 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`robotrunner: unknown command "${name}"\n${usage()}`)
    return 64
  }
  return await command.run(rest)
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`robotrunner: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
