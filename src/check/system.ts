// Cores, memory and free disk against the deployment guide's recommendation
// (4 cores, 8 GB RAM, 20 GB disk). Below it is a warning: the runner works, with less room.
import fs from 'node:fs'
import os from 'node:os'
import type { Config } from '../config/settings'
import { gib, nearestExisting } from './fs-facts'
import { ok, unknown, warn, type CheckItem } from './item'

const GiB = 1024 ** 3
export const RECOMMENDED = { cores: 4, memoryGiB: 8, diskGiB: 20 }
// A machine sold as 8 GB reports less (firmware and kernel reservations): accept 7.5.
const MEMORY_TOLERANCE_GiB = 0.5

export function checkSystem (c: Config): CheckItem[] {
  const cores = os.availableParallelism()
  const memory = os.totalmem()
  const items: CheckItem[] = [
    cores >= RECOMMENDED.cores
      ? ok('system.cores', `at least ${RECOMMENDED.cores} CPU cores`, `${cores} cores`)
      : warn('system.cores', `at least ${RECOMMENDED.cores} CPU cores`, `${cores} cores`, 'lower concurrency and http_workers, or give the machine more cores'),
    memory >= (RECOMMENDED.memoryGiB - MEMORY_TOLERANCE_GiB) * GiB
      ? ok('system.memory', `at least ${RECOMMENDED.memoryGiB} GB of memory`, `${gib(memory)} total`)
      : warn('system.memory', `at least ${RECOMMENDED.memoryGiB} GB of memory`, `${gib(memory)} total`, 'lower concurrency, or give the machine more memory')
  ]
  items.push(diskItem(c.data_dir))
  return items
}

function diskItem (dataDir: string): CheckItem {
  const title = `at least ${RECOMMENDED.diskGiB} GB free for data_dir`
  const where = nearestExisting(dataDir)
  let free: number
  try {
    const s = fs.statfsSync(where)
    free = s.bavail * s.bsize
  } catch (err) {
    return unknown('system.disk', title, `cannot read the filesystem of ${where}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
  return free >= RECOMMENDED.diskGiB * GiB
    ? ok('system.disk', title, `${gib(free)} free on the filesystem of ${where}`)
    : warn('system.disk', title, `${gib(free)} free on the filesystem of ${where}`, 'free space, lower retention, or move data_dir to a larger disk')
}
