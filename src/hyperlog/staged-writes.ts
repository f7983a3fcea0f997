/**
 * `StagedWrites`: what a change index's `map` writes through. Writes are staged (kappa's
 * `ViewBatch`, the same staging `levelView` uses) and committed with the index's position in one
 * atomic batch; `get` sees the staged value first, else the committed one.
 */
import type { ViewBatch } from '../kappa/index.js'
import type { LevelDb, LevelSublevel } from '../level/index.js'
import type { BatchProof } from './types.js'

export class StagedWrites {
  /** The index's database; typed as a sublevel for staging (a root database works as well). */
  readonly #db: LevelSublevel
  readonly #batch: ViewBatch
  /** Called, in order, once the batch is committed (before the next batch of the index runs). */
  readonly committed: (() => void)[] = []

  /**
   * The proofs of the local batches whose nodes these are, in-line with their commit, that held
   * (see BatchProof: their `reads` are the prover's state at the DAG's change before this batch).
   * Empty for any other batch.
   */
  readonly proofs: readonly BatchProof[]
  /**
   * The stored bytes of each node's value, in `map`'s node order (with the json encoding, the JSON
   * the value was parsed from: an index keeping the document need not stringify it again).
   */
  readonly valueBytes: readonly Buffer[]

  constructor(db: LevelDb, batch: ViewBatch, proofs: readonly BatchProof[], valueBytes: readonly Buffer[]) {
    this.#db = db as unknown as LevelSublevel
    this.#batch = batch
    this.proofs = proofs
    this.valueBytes = valueBytes
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
