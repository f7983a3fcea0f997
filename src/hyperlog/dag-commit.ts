/**
 * `DagCommit`: the one commit of the DAG index, for both kinds of DAG batch — a view batch of
 * replicated (or local, read back) entries, and a group of local writes indexed before they are
 * appended — and the committed in-memory state readers use (the change counter, the heads, the
 * refusal counts, commit notifications).
 *
 * A commit stages the writes of the in-line change indexes for the nodes the batch makes visible,
 * makes sure the storage can take the batch (dag-storage.ts), and writes ALL of it — the DAG's
 * records, the in-line indexes' writes and the caller's own records (view positions, outbox
 * records) — in ONE batch on the root database. Only then is the in-memory state advanced and
 * are events emitted. The caller holds the DAG lock.
 */
import { storageError } from '../util/storage-fault.js'
import type { LevelDb, LevelOperation, LevelSublevel } from '../kappa/index.js'
import { writeBatch } from '../level/index.js'
import type { BatchOutcome, DagOp, KnownNode } from './dag-indexer.js'
import { isStorageFault, type DagStorage } from './dag-storage.js'
import type { BatchProof, NodeHash } from './types.js'

const NO_PROOFS: readonly BatchProof[] = []

/** A change index kept in the DAG's own batches (it lives in the same root database). */
export interface InlineIndex {
  /**
   * Stages the index's writes for these newly visible nodes (perhaps none: the batch made only
   * hidden ones resolvable), its position `through` (the batch's last change); `done` runs after
   * the commit. `proofs`: those of the local batches committed with them that held (see BatchProof).
   */
  stage(
    nodes: KnownNode[],
    proofs: readonly BatchProof[],
    through: number,
  ): Promise<{ ops: LevelOperation[]; done: () => void }>
  /** The DAG dropped the index from its batches: what it indexed must be built again. */
  detached(): void
}

/** One DAG batch, as its caller planned it. */
export interface CommitPlan {
  /** The DAG index's writes (its sublevel `d`; stamped with it in place). */
  ops: DagOp[]
  /** The caller's records committed with them (view positions, outbox records). */
  extra: LevelOperation[]
  outcome: BatchOutcome
  /** What cannot be committed, for the error: "local writes", "replicated nodes". */
  what: string
  /**
   * Measure the free space (a measurement started at this `performance.now()` or later) instead
   * of trusting a recent reading: replicated nodes arrive after their blocks, which Hypercore
   * stored without the checker seeing them.
   */
  freshFrom?: number
  /** A group of local writes: the proofs of its batches that held. */
  proofs?: readonly BatchProof[]
}

export interface DagCommitOptions {
  root: LevelDb
  /** The DAG index's data sublevel. */
  data: LevelSublevel
  storage: DagStorage
  /** After each commit, synchronously, before the batch's callers resume. */
  onCommit: (outcome: BatchOutcome) => void
  /** The engine refused a batch for another reason than a storage fault: the DAG cannot go on. */
  onFailure: (err: Error) => void
}

export class DagCommit {
  readonly #opts: DagCommitOptions
  readonly #inline = new Set<InlineIndex>()
  readonly #listeners = new Set<() => void>()
  readonly #heads = new Set<NodeHash>()
  #changes = 0
  #verifyFailures = 0
  #malformedNodes = 0

  constructor(opts: DagCommitOptions) {
    this.#opts = opts
  }

  /** Largest committed change number. */
  get changes(): number {
    return this.#changes
  }

  /** Committed heads. */
  get heads(): ReadonlySet<NodeHash> {
    return this.#heads
  }

  /** Replicated nodes refused by `verify` (or as malformed) so far. */
  get verifyFailures(): number {
    return this.#verifyFailures
  }

  /** Of those and the entries the feed refused, the nodes refused as malformed. */
  get malformedNodes(): number {
    return this.#malformedNodes
  }

  /** A peer's entry the feed refused before it became a node: counted as a malformed node. */
  countMalformed(): void {
    this.#malformedNodes++
  }

  /** The committed state found at open (before any commit). */
  load(changes: number, heads: Iterable<NodeHash>): void {
    this.#changes = changes
    for (const hash of heads) this.#heads.add(hash)
    // Whoever subscribed before the state was loaded (change indexes) sees the loaded changes.
    for (const listener of this.#listeners) guarded(listener)
  }

  /** Keeps `index` in every DAG batch from now on (call it holding the lock, the index caught up). */
  attach(index: InlineIndex): void {
    this.#inline.add(index)
  }

  detach(index: InlineIndex): void {
    this.#inline.delete(index)
  }

  onCommit(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Which nodes are hidden changed (committed by the caller, holding the lock): the heads are
   * these now, and every in-line index is dropped from the batches, to be built again.
   */
  rebuilt(heads: Iterable<NodeHash>): void {
    this.#heads.clear()
    for (const hash of heads) this.#heads.add(hash)
    const dropped = [...this.#inline]
    this.#inline.clear()
    for (const index of dropped) guarded(() => index.detached())
    for (const listener of this.#listeners) guarded(listener)
  }

  /**
   * Commits `plan` (holding the DAG lock). Rejects with ERR_STORAGE when the storage refuses it
   * (the fault is noted: the next commit heals first) or with the engine's error; nothing of the
   * batch is then committed, and the caller puts its counters back.
   */
  async commit(plan: CommitPlan): Promise<void> {
    const { outcome } = plan
    const batch = plan.ops as unknown as LevelOperation[]
    const data = this.#opts.data
    // Stamped in place: a copy per op was a measurable share of a local write.
    for (const op of batch) (op as { sublevel?: unknown }).sublevel = data
    let inlineDone: (() => void) | null = null
    if (this.#inline.size > 0 && outcome.changes > this.#changes) {
      const staged = await Promise.all(
        [...this.#inline].map((index) =>
          index.stage(outcome.visible, plan.proofs ?? NO_PROOFS, outcome.changes),
        ),
      )
      for (const s of staged) for (const op of s.ops) batch.push(op)
      inlineDone = () => {
        for (const s of staged) guarded(s.done)
      }
    }
    for (const op of plan.extra) batch.push(op)
    const room = this.#opts.storage.beforeCommit(
      opsBytes(batch),
      `${plan.what} cannot be committed`,
      plan.freshFrom,
    )
    if (room) await room
    try {
      await writeBatch(this.#opts.root, batch)
    } catch (err) {
      const error = storageError(`the DAG index could not commit ${plan.what}`, err)
      if (isStorageFault(err)) this.#opts.storage.noteFault(error)
      else this.#opts.onFailure(error)
      throw error
    }
    this.#apply(outcome, inlineDone)
  }

  #apply(outcome: BatchOutcome, inlineDone: (() => void) | null): void {
    this.#changes = outcome.changes
    for (const { hash, record } of outcome.visible) {
      for (const link of record.entry.links) this.#heads.delete(link)
      this.#heads.add(hash)
    }
    this.#verifyFailures += outcome.rejected.length
    this.#malformedNodes += outcome.malformed ?? 0
    inlineDone?.()
    // Listeners are application code: their exceptions must not fail the DAG.
    guarded(() => this.#opts.onCommit(outcome))
    for (const listener of this.#listeners) guarded(listener)
  }
}

/** About how many bytes a batch writes. */
function opsBytes(ops: LevelOperation[]): number {
  let bytes = 0
  for (const op of ops) {
    const value = (op as { value?: { byteLength?: number } }).value
    bytes += 64 + (typeof value?.byteLength === 'number' ? value.byteLength : 0)
  }
  return bytes
}

/** Runs `fn`; an exception surfaces as an uncaught exception of the caller's code, not ours. */
export function guarded(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}
