/**
 * Shared by the crash tests and their child processes: the view whose result must survive SIGKILL,
 * and starting then killing a child.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { levelView, type Entry, type LevelLike, type View, type ViewDb } from '../../src/kappa/index.js'

const TSX = import.meta.resolve('tsx/esm')

/** Starts `child DIR SEED` (a .ts file), waits for it to print "ready", then SIGKILLs it `delay` ms later. */
export async function runAndKill(
  child: string,
  dir: string,
  childSeed: number,
  delay: number,
): Promise<void> {
  const proc = spawn(process.execPath, ['--import', TSX, child, dir, String(childSeed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(proc, 'exit')
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve()
    })
    proc.on('exit', (code) => reject(new Error(`child exited early with code ${code}`)))
  })
  await new Promise((resolve) => setTimeout(resolve, delay))
  proc.kill('SIGKILL')
  await exited
}

export interface SumCount {
  sum: number
  count: number
}

/** Sums numeric entries into `sum` and counts them into `count`: a double-applied or lost entry shows. */
export function sumCountView(
  db: LevelLike,
  maxBatch: number,
): View<number, { totals: (core: unknown) => Promise<SumCount> }> {
  return levelView(db, (vdb: ViewDb<number>) => ({
    maxBatch,
    async map(entries: Entry<number>[]) {
      let sum = (await vdb.get('sum')) ?? 0
      let count = (await vdb.get('count')) ?? 0
      for (const entry of entries) {
        sum += entry.value
        count++
      }
      // Two separate writes: only the atomic commit keeps them (and the position) together.
      await vdb.put('sum', sum)
      await vdb.put('count', count)
    },
    api: {
      async totals(): Promise<SumCount> {
        return { sum: (await vdb.get('sum')) ?? 0, count: (await vdb.get('count')) ?? 0 }
      },
    },
  }))
}
