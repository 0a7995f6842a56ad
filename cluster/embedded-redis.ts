// The private redis-server the supervisor runs when no redis_url is configured:
// unix socket (mode 700) under data_dir/redis, AOF on, noeviction, stopped at exit.
// One left running by a supervisor that was SIGKILLed is adopted, not duplicated.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import type { Logger } from 'pino'

export interface EmbeddedRedis {
  url: string
  stop: () => Promise<void>
}

const SOCKET_PATH_MAX = 100 // sun_path is 108 bytes on Linux

export async function startEmbeddedRedis (dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const dir = path.join(dataDir, 'redis')
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  let socket = path.join(dir, 'redis.sock')
  if (socket.length > SOCKET_PATH_MAX) {
    socket = path.join(os.tmpdir(), `robotrunner-redis-${createHash('sha1').update(dir).digest('hex').slice(0, 12)}.sock`)
  }
  const url = `unix://${socket}`
  const pidFile = path.join(dir, 'redis.pid')

  if (await answers(socket)) {
    log.warn({ socket }, 'adopting the embedded redis-server left by a previous supervisor')
    return { url, stop: () => stopByPid(pidFile) }
  }
  fs.rmSync(socket, { force: true })

  const child = spawn('redis-server', [
    '--port', '0',
    '--unixsocket', socket,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--pidfile', pidFile,
    '--logfile', path.join(dir, 'redis.log'),
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no'
  ], { detached: true, stdio: 'ignore' }) // own process group: a terminal's ^C must not stop it before the workers
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const failed = new Promise<never>((_resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start redis-server: ${err.message} (install it, e.g. apt-get install redis-server, or set redis_url)`)))
    void exited.then(() => reject(new Error(`redis-server exited at start; see ${path.join(dir, 'redis.log')}`)))
  })
  await Promise.race([waitUntilAnswers(socket, 10_000), failed])
  log.info({ socket, pid: child.pid }, 'embedded redis-server started')
  return { url, stop: () => stopChild(child, exited) }
}

async function answers (socket: string): Promise<boolean> {
  if (!fs.existsSync(socket)) return false
  const client = new Redis({ path: socket, lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function waitUntilAnswers (socket: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await answers(socket)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`embedded redis-server did not answer on ${socket} within ${timeoutMs} ms`)
}

async function stopChild (child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM') // redis fsyncs the AOF and exits
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

async function stopByPid (pidFile: string): Promise<void> {
  let pid: number
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim())
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    try { process.kill(pid, 0) } catch { return }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
}
