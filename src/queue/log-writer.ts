// Writes one execution's output: stdout and stderr interleaved as timestamped lines,
// secrets masked, appended to the log file and to a bounded Redis Stream (live follow).
// Lines are batched (one file write and one XADD per flush); when the batch backs up, the
// caller is told to pause the robot's pipes, so memory stays bounded whatever it prints.
import fs from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'
import type Redis from 'ioredis'
import { Masker } from './mask'

const FLUSH_MS = 20
const MAX_ENTRY_BYTES = 16 * 1024 // one stream entry (and SSE event) at most this big
const STREAM_MAX_ENTRIES = 4000 // ~64 MB at worst per execution in Redis; the file keeps everything
const PAUSE_BYTES = 1024 * 1024
const PARTIAL_LINE_MAX = 16 * 1024
const PARTIAL_IDLE_MS = 250

type Source = 'out' | 'err'

export class LogWriter {
  private file: fs.FileHandle | undefined
  private batch: string[] = []
  private batchBytes = 0
  private written = 0
  private truncated = false
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private paused = false
  private readonly decoders = { out: new StringDecoder('utf8'), err: new StringDecoder('utf8') }
  private readonly maskers: Record<Source, Masker>
  private readonly partial = { out: '', err: '' }
  private readonly partialSince = { out: 0, err: 0 }

  constructor (
    private readonly path: string,
    private readonly redis: Redis,
    private readonly streamKey: string,
    private readonly maxBytes: number,
    secrets: string[],
    private readonly onPressure: (pause: boolean) => void
  ) {
    this.maskers = { out: new Masker(secrets), err: new Masker(secrets) }
  }

  async open (): Promise<void> {
    this.file = await fs.open(this.path, 'a', 0o640)
  }

  /** Adds a line written by the runner itself (start, timeout, cancel notes). */
  note (text: string): void {
    this.addLines([`${new Date().toISOString()} [runner] ${text}`], true)
  }

  write (source: Source, chunk: Buffer): void {
    const text = this.maskers[source].push(this.decoders[source].write(chunk))
    this.split(source, text, false)
  }

  /** Reads what is held back, writes it all and closes the file. */
  async end (): Promise<void> {
    for (const source of ['out', 'err'] as const) {
      const rest = this.maskers[source].push(this.decoders[source].end()) + this.maskers[source].flush()
      this.split(source, rest, true)
    }
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
    await this.file?.close()
    this.file = undefined
  }

  private split (source: Source, text: string, final: boolean): void {
    if (text === '' && !final) return
    const all = this.partial[source] + text
    const parts = all.split('\n')
    let rest = parts.pop()!
    if (final && rest !== '') { parts.push(rest); rest = '' }
    while (rest.length > PARTIAL_LINE_MAX) { parts.push(rest.slice(0, PARTIAL_LINE_MAX)); rest = rest.slice(PARTIAL_LINE_MAX) }
    if (rest !== '' && this.partial[source] === '') this.partialSince[source] = Date.now()
    this.partial[source] = rest
    if (parts.length === 0) { this.schedule(); return }
    const ts = new Date().toISOString()
    this.addLines(parts.map((line) => `${ts} [${source}] ${line}`))
  }

  /** runner notes (force) are kept past max_log_bytes: a truncated log still says how it ended */
  private addLines (lines: string[], force = false): void {
    for (const line of lines) {
      const bytes = Buffer.byteLength(line) + 1
      if (force) {
        this.batch.push(line)
        this.batchBytes += bytes
        continue
      }
      if (this.truncated) break
      if (this.written + bytes > this.maxBytes) {
        this.truncated = true
        const marker = `${new Date().toISOString()} [runner] log truncated: max_log_bytes (${this.maxBytes}) reached; further output is discarded`
        this.batch.push(marker)
        this.batchBytes += marker.length + 1
        break
      }
      this.written += bytes
      this.batch.push(line)
      this.batchBytes += bytes
    }
    if (this.batchBytes >= PAUSE_BYTES && !this.paused) {
      this.paused = true
      this.onPressure(true)
    }
    this.schedule()
  }

  private schedule (): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined
      for (const source of ['out', 'err'] as const) {
        if (this.partial[source] !== '' && Date.now() - this.partialSince[source] >= PARTIAL_IDLE_MS) {
          const line = this.partial[source]
          this.partial[source] = ''
          this.addLines([`${new Date().toISOString()} [${source}] ${line}`])
        }
      }
      void this.flush().catch(() => {})
      if (this.partial.out !== '' || this.partial.err !== '') this.schedule()
    }, FLUSH_MS)
  }

  /** Serialised: one flush at a time, in order. */
  private flush (): Promise<void> {
    const next = this.flushing.then(() => this.flushBatch())
    this.flushing = next.catch(() => {})
    return next
  }

  private async flushBatch (): Promise<void> {
    if (this.batch.length === 0) return
    const lines = this.batch
    this.batch = []
    this.batchBytes = 0
    const text = lines.join('\n') + '\n'
    await this.file?.write(text)
    const pipeline = this.redis.pipeline()
    for (const entry of chunkLines(lines)) pipeline.xadd(this.streamKey, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 'l', entry)
    await pipeline.exec()
    if (this.paused && this.batchBytes < PAUSE_BYTES / 2) {
      this.paused = false
      this.onPressure(false)
    }
  }
}

/** Groups lines into stream entries of at most MAX_ENTRY_BYTES (a longer line is its own entry). */
function chunkLines (lines: string[]): string[] {
  const out: string[] = []
  let cur: string[] = []
  let size = 0
  for (const line of lines) {
    if (size + line.length + 1 > MAX_ENTRY_BYTES && cur.length > 0) {
      out.push(cur.join('\n'))
      cur = []
      size = 0
    }
    cur.push(line)
    size += line.length + 1
  }
  if (cur.length > 0) out.push(cur.join('\n'))
  return out
}
