// A fake systemd NOTIFY_SOCKET: a unix datagram socket the test binds (through the same
// unix-dgram package the supervisor sends with), collecting every message.
import path from 'node:path'
import { tmpDir } from './tmp'

interface DgramSocket {
  on: (event: 'message', fn: (buf: Buffer) => void) => void
  bind: (path: string) => void
  close: () => void
}

export interface NotifyReceiver {
  path: string
  /** every datagram received so far, as text ("READY=1", "STATUS=...") */
  messages: string[]
}

export function notifyReceiver (t: { teardown: (fn: () => unknown) => void }): NotifyReceiver {
  const dgram = require('unix-dgram') as { createSocket: (type: 'unix_dgram') => DgramSocket } // eslint-disable-line @typescript-eslint/no-require-imports
  const file = path.join(tmpDir(t, 'rr-notify'), 'notify.sock')
  const receiver: NotifyReceiver = { path: file, messages: [] }
  const socket = dgram.createSocket('unix_dgram')
  socket.on('message', (buf) => { receiver.messages.push(buf.toString('utf8')) })
  socket.bind(file)
  t.teardown(() => socket.close())
  return receiver
}
