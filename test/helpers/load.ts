// Runs test/helpers/load-client.ts in a child process against a runner and returns its summary.
import { spawn } from 'node:child_process'
import path from 'node:path'
import type { Certs } from './certs'
import type { LoadOptions, LoadSummary } from './load-client'

export type { LoadSummary } from './load-client'

const CLIENT = path.join(__dirname, 'load-client.ts')

interface T { teardown: (fn: () => unknown) => void }

export interface LoadRun {
  /** resolves with the summary once every client has stopped */
  done: Promise<LoadSummary>
}

export function startLoad (t: T, target: { port: number, token: string }, certs: Certs, opts: Partial<LoadOptions> = {}): LoadRun {
  const options: LoadOptions = {
    port: target.port,
    token: target.token,
    ca: certs.ca,
    cert: certs.clientCert,
    key: certs.clientKey,
    clients: 8,
    durationMs: 12_000,
    maxPerClient: 200_000,
    path: '/api/status',
    ...opts
  }
  // The same TypeScript loader tap gives this test process.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))
  const child = spawn(process.execPath, [...loader, CLIENT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`load client exited ${String(code)}: ${err}`)
    return JSON.parse(out) as LoadSummary
  })
  return { done }
}
