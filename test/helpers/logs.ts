// Reading a runner's JSON-lines logs (pino) in tests.
import fs from 'node:fs'

export type LogLine = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export function readLog (file: string): LogLine[] {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const lines: LogLine[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try { lines.push(JSON.parse(line) as LogLine) } catch { /* a line being written */ }
  }
  return lines
}

/** Log lines whose msg contains text. */
export function logged (file: string, text: string): LogLine[] {
  return readLog(file).filter((l) => typeof l.msg === 'string' && l.msg.includes(text))
}

/** Waits until a line whose msg contains text is in the log; returns the first one. */
export async function waitLogged (file: string, text: string, timeoutMs = 10_000): Promise<LogLine> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const [line] = logged(file, text)
    if (line !== undefined) return line
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for "${text}" in ${file}`)
}
