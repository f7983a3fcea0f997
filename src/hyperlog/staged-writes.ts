/**
 * `StagedWrites`: what a change index's `map` writes through. Writes are staged (kappa's
 * `ViewBatch`, the same staging `levelView` uses) and committed with the index's position in one
 * atomic batch; `get` sees the staged value first, else the committed one.
 */
import type { ViewBatch } from '../kappa/index.js'
import type { LevelDb, LevelSublevel } from '../level/index.js'

export class StagedWrites {
  /** The index's database; typed as a sublevel for staging (a root database works as well). */
  readonly #db: LevelSublevel
  readonly #batch: ViewBatch
  /** Called, in order, once the batch is committed (before the next batch of the index runs). */
  readonly committed: (() => void)[] = []

  constructor(db: LevelDb, batch: ViewBatch) {
    this.#db = db as unknown as LevelSublevel
    this.#batch = batch
  }

  put(key: unknown, value: unknown): void {
    this.#batch.stage({ type: 'put', key, value, sublevel: this.#db })
  }

  del(key: unknown): void {
    this.#batch.stage({ type: 'del', key, sublevel: this.#db })
  }

  /**
   * Runs `fn` once this batch is committed, before the index's next batch: where an index updates
   * its caches and announces what it indexed.
   */
  afterCommit(fn: () => void): void {
    this.committed.push(fn)
  }

  /** The staged value, else the committed one; undefined when missing (or deleted). */
  async get(key: unknown): Promise<unknown> {
    const staged = this.#batch.lookup(this.#db, key)
    if (staged.staged) return staged.value
    return this.#db.get(key)
  }
}
