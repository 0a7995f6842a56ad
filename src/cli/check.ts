// `robotrunner check [--config PATH] [--json] [--<key> <value> ...]`: the production checklist.
import { runChecklist } from '../check'
import { exitCode, renderJson, renderText } from '../check/report'

export async function checkCommand (args: string[]): Promise<number> {
  const json = args.includes('--json')
  const items = await runChecklist(args.filter((a) => a !== '--json'), process.env)
  process.stdout.write(json ? renderJson(items) : renderText(items))
  return exitCode(items)
}
