// Graceful stop of an http worker without failing a single request. The worker stops
// accepting (the cluster sends new connections to the other workers), finishes in-flight
// requests, answers requests arriving on its keep-alive connections normally with
// `Connection: close` (never 503), closes idle connections, and is done within
// graceful_timeout_s at the latest.
//
// Why not just fastify.close(): Fastify's forceCloseConnections 'idle' only acts with a
// serverFactory; what closes idle connections is Node's https server.close(), which destroys
// every connection idle at that instant, including one whose client has just sent its next
// request (it is on the wire, not parsed yet): that client then sees a reset. Here a
// connection counts as idle once nothing happened on it for IDLE_GRACE_MS: a busy client's
// next request arrives well within that and is answered with `Connection: close`.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import tls from 'node:tls'
import type { FastifyInstance } from 'fastify'

export const IDLE_GRACE_MS = 250

interface Conn { active: Set<ServerResponse>, idleSince: number }

export interface Drainer {
  /** graceful stop: resolves when every connection is closed (at gracefulMs they are forced) */
  drain: (gracefulMs: number) => Promise<void>
  /** fast stop: close every connection now */
  abort: () => Promise<void>
}

export function makeDrainer (app: FastifyInstance): Drainer {
  const server = app.server as Server
  const conns = new Map<Socket, Conn>()
  let draining = false
  let closing: Promise<void> | undefined

  // Count connections once they can carry requests (after the TLS handshake for https).
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: Socket) => {
    conns.set(socket, { active: new Set(), idleSince: Date.now() })
    socket.once('close', () => conns.delete(socket))
  })
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const conn = conns.get(req.socket)
    if (conn === undefined) return // the readiness probe's own server
    conn.active.add(res)
    if (draining) res.setHeader('Connection', 'close')
    res.once('close', () => {
      conn.active.delete(res)
      conn.idleSince = Date.now()
    })
  })

  const sweep = (): void => {
    const now = Date.now()
    for (const [socket, conn] of conns) {
      if (conn.active.size === 0 && now - conn.idleSince >= IDLE_GRACE_MS) socket.destroy()
    }
  }

  const close = (): Promise<void> => {
    closing ??= app.close().then(() => {}, () => {})
    return closing
  }

  return {
    drain: async (gracefulMs) => {
      draining = true
      // Responses not yet started tell their client this connection ends with them.
      for (const conn of conns.values()) for (const res of conn.active) if (!res.headersSent) res.setHeader('Connection', 'close')
      // server.close() calls closeIdleConnections(): make that our sweep (see above).
      server.closeIdleConnections = sweep
      const sweeper = setInterval(sweep, IDLE_GRACE_MS / 2)
      const deadline = setTimeout(() => server.closeAllConnections(), gracefulMs)
      try {
        await close()
      } finally {
        clearInterval(sweeper)
        clearTimeout(deadline)
      }
    },
    abort: async () => {
      draining = true
      server.closeAllConnections()
      const done = close()
      server.closeAllConnections() // connections that finished their handshake meanwhile
      await done
    }
  }
}
