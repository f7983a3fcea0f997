/**
 * Shared by the crash test and its child process: the view whose result must survive SIGKILL.
 */
import { levelView, type Entry, type LevelLike, type View, type ViewDb } from '../../src/kappa/index.js'

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
