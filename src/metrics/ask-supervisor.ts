// An HTTP worker asks the supervisor (over IPC) for the aggregated worker metrics.
import { isMessage, type ToWorker } from '../ipc'

const TIMEOUT_MS = 8000
let nextId = 1

export function askSupervisorForMetrics (): Promise<string> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    const onMessage = (raw: unknown): void => {
      if (!isMessage(raw)) return
      const msg = raw as ToWorker
      if (msg.t !== 'metrics' || msg.id !== id) return
      cleanup()
      if (msg.text !== undefined) resolve(msg.text)
      else reject(new Error(msg.error ?? 'no metrics'))
    }
    const timer = setTimeout(() => { cleanup(); reject(new Error('the supervisor did not answer')) }, TIMEOUT_MS)
    const cleanup = (): void => { clearTimeout(timer); process.off('message', onMessage) }
    process.on('message', onMessage)
    if (process.send === undefined || !process.connected) { cleanup(); reject(new Error('no supervisor')); return }
    process.send({ t: 'metrics-req', id })
  })
}
