#!/usr/bin/env node
// The robotrunner command: one file per subcommand, registered in COMMANDS.
import { startCommand } from './start'

interface Command {
  summary: string
  run: (args: string[]) => Promise<number>
}

const COMMANDS: Record<string, Command> = {
  check: { summary: 'run the production checklist here (✓/✗/?, exit 1 on any ✗; --json for automation)', run: async (args) => await (await import('./check')).checkCommand(args) },
  start: { summary: 'run the supervisor in the foreground (systemd manages it; no daemon mode)', run: startCommand },
  reload: { summary: 'check the config, then HUP the supervisor (via pidfile) for a rolling reload', run: async (args) => await (await import('./reload')).reloadCommand(args) },
  stop: { summary: 'stop the supervisor (via pidfile) gracefully, or --fast; waits until it exited', run: async (args) => await (await import('./stop')).stopCommand(args) },
  status: { summary: 'show the supervisor, its workers and /ready (exit 0 ready, 1 degraded, 3 not running)', run: async (args) => await (await import('./status')).statusCommand(args) }
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
