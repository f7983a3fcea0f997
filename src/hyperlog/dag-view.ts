/**
 * `DagView`: the DAG index as a kappa view over every writer's log, and the in-line commit of
 * local writes. Both are DAG batches: under the DAG lock, read the committed index, compute the
 * writes (dag-indexer.ts), and commit them through the one `DagCommit` (dag-commit.ts) — a view
 * batch with the view's positions, a group of local writes with its outbox record.
 *
 * The view implements kappa's state hooks itself (the layout levelView uses: data in sublevel
 * `d`, the state — its version — in sublevel `s` key `state`, each feed's position in sublevel
 * `p`). Its `map` only takes the batch's entries; its `storeFeedState` plans and commits them with
 * the new position of the batch's feed, taking and releasing the lock itself, and after a storage
 * fault tries again (planning again) until the storage heals.
 *
 * Local entries are indexed before they are appended (their seqs reserved on the writer's feed):
 * read back by kappa, the ones below the in-line marker only move the position and delete the
 * outbox records they pass.
 */
import type { FreeSpace } from '../util/storage-fault.js'
import { toError } from '../util/errors.js'
import type { Feed, FeedKey } from '../feeds/types.js'
import { lengthIsCurrent } from '../feeds/index.js'
import {
  decodeFeedPosition,
  decodePositions,
  encodeStateHeader,
  splitPositions,
  type Entry,
  type View,
} from '../kappa/index.js'
import { writeBatch, type LevelDb, type LevelOperation, type LevelSublevel } from '../level/index.js'
import { DagCommit, type InlineIndex } from './dag-commit.js'
import {
  DagIndexer,
  type BatchOutcome,
  type Candidate,
  type DagOp,
  type KnownNode,
  type ValueDecodes,
  type VerifyNode,
} from './dag-indexer.js'
import { DagLock } from './dag-lock.js'
import { DagReads } from './dag-reads.js'
import { DagStorage, isStorageFault } from './dag-storage.js'
import type { NodeHasher } from './hash.js'
import {
  CHANGES_RANGE,
  HEADS_RANGE,
  INLINE_KEY,
  PENDING_RANGE,
  WAITING_COUNT_KEY,
  decodeChangeRun,
  decodeUintRecord,
  encodeUintRecord,
  fromLexHex,
  hashOfHeadKey,
  type NodeRecord,
} from './messages.js'
import { Outbox, type DroppedEntry } from './outbox.js'
import type { ChangeSource } from './read-stream.js'
import type { BatchProof, NodeHash } from './types.js'

export type { InlineIndex } from './dag-commit.js'

/** Bump when the index layout changes: the index is then cleared and rebuilt at open. */
export const DAG_VIEW_VERSION = 1
/** Entries per view batch: one `getMany` and one level batch each. */
const DAG_MAX_BATCH = 1000
const STATE_KEY = 'state'

export interface DagViewOptions {
  hasher: NodeHasher
  verify?: VerifyNode
  /** Whether a replicated node's value decodes (one that does not is refused: `malformedNodes`). */
  decodes?: ValueDecodes
  /** The local writer's feed key, once known. */
  localFeed: () => FeedKey | null
  /** Every feed of the kappa (for `caughtUp`). */
  feeds: () => readonly Pick<Feed, 'id' | 'length' | 'upToDate'>[]
  /** After each commit, synchronously, before the batch's callers resume. */
  onCommit: (outcome: BatchOutcome) => void
  onOutboxError: (err: Error) => void
  /** A commit failed on a storage fault (reported once until the storage heals). */
  onStorageFault: (err: Error) => void
  /** The free space of the index's file system (null: not known, nothing checked). */
  space: FreeSpace | null
  /** Closes and opens the index database again (when the log opened it itself). */
  reopen?: () => Promise<void>
}

export class DagView implements ChangeSource {
  /** The kappa view to install. */
  readonly view: View<unknown, object>
  /** One DAG batch at a time: view batches and groups of local writes. */
  readonly lock = new DagLock()
  readonly indexer: DagIndexer
  readonly outbox: Outbox
  /** The committed state and the one commit of every DAG batch. */
  readonly commits: DagCommit
  readonly reads: DagReads

  readonly #opts: DagViewOptions
  readonly #root: LevelDb
  readonly #data: LevelSublevel
  readonly #state: LevelSublevel
  /** Each feed's position, by feed key. */
  readonly #feedStates: LevelSublevel
  readonly #storage: DagStorage
  /** Per feed: entries the view has indexed, contiguous from 0. */
  #positions = new Map<FeedKey, number>()
  /** Local entries with a smaller seq were indexed in-line. */
  #inlineLength = 0
  /** The entries kappa mapped, committed by the `storeState` that follows. */
  #mapped: Entry<unknown>[] | null = null
  /** Wakes a view batch waiting to retry its commit (the log is closing, or the storage took writes). */
  #wakeRetry: (() => void) | null = null
  /** A view batch waits for the storage: the fault, until the batch commits. */
  #stalled: Error | null = null
  #onStall: { promise: Promise<void>; resolve: () => void } | null = null
  #failure: Error | null = null
  #closedWrites: Error | null = null

  constructor(db: LevelDb, opts: DagViewOptions) {
    this.#opts = opts
    this.#root = ((db as { db?: LevelDb }).db ?? db) as LevelDb
    const dag = db.sublevel('hyperlog') as unknown as LevelDb
    this.#data = dag.sublevel('d', {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    }) as unknown as LevelSublevel
    this.#state = dag.sublevel('s', { valueEncoding: 'buffer' }) as unknown as LevelSublevel
    this.#feedStates = dag.sublevel('p', {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    }) as unknown as LevelSublevel
    this.outbox = new Outbox(
      dag.sublevel('o', { keyEncoding: 'utf8', valueEncoding: 'buffer' }) as unknown as LevelSublevel,
      opts.onOutboxError,
    )
    this.#storage = new DagStorage({
      root: this.#root,
      probe: this.#state,
      space: opts.space,
      reopen: opts.reopen,
      onStorageFault: opts.onStorageFault,
    })
    this.commits = new DagCommit({
      root: this.#root,
      data: this.#data,
      storage: this.#storage,
      onCommit: opts.onCommit,
      onFailure: (err) => this.fail(err),
    })
    this.reads = new DagReads(this.#data, () => this.commits.changes)
    this.indexer = new DagIndexer({
      read: (keys) => this.reads.readMany(keys),
      range: (range) => this.#data.iterator(range).all() as Promise<[string, Buffer][]>,
      hasher: opts.hasher,
      verify: opts.verify,
      decodes: opts.decodes,
      isLocal: (feed) => feed === opts.localFeed(),
      changes: 0,
    })
    this.view = {
      maxBatch: DAG_MAX_BATCH,
      map: (entries: Entry<unknown>[]) => {
        this.#mapped = entries
      },
      fetchState: () => this.#state.get(STATE_KEY) as Promise<Uint8Array | undefined>,
      // The version alone (kappa starts the view from scratch): no position stays.
      storeState: (state: Uint8Array) =>
        this.#commitViewBatch({ type: 'put', key: STATE_KEY, value: state, sublevel: this.#state }, null),
      storeFeedState: (feed: FeedKey, state: Uint8Array) =>
        this.#commitViewBatch(
          { type: 'put', key: feed, value: state, sublevel: this.#feedStates },
          { feed, count: decodeFeedPosition(state) },
        ),
      fetchFeedStates: () => this.#feedStates.iterator().all(),
      clearIndex: () => this.#clear(),
    } as unknown as View<unknown, object>
  }

  /** The root database every DAG batch commits to. */
  get root(): LevelDb {
    return this.#root
  }

  /** Largest committed change number. */
  get changes(): number {
    return this.commits.changes
  }

  /** A view batch waits for the storage: the fault, until the batch commits (null: none waits). */
  get stalled(): Error | null {
    return this.#stalled
  }

  /**
   * Loads the committed state (at open, after the outbox replay, before the view is installed).
   * No stored positions, or another version: the index is cleared and fresh positions stored now,
   * so kappa finds them and never clears behind the local writes' back.
   */
  async load(): Promise<void> {
    let stored = (await this.#state.get(STATE_KEY)) as Uint8Array | undefined
    const split = stored && stored.byteLength > 0 ? splitPositions(stored) : null
    if (split) {
      // Every feed's position in the state (stored before positions were kept per feed): moved to
      // the per-feed records in one batch, so a crash leaves one layout or the other.
      const ops: LevelOperation[] = split.feeds.map(([key, value]) => ({
        type: 'put',
        key,
        value,
        sublevel: this.#feedStates,
      }))
      ops.push({ type: 'put', key: STATE_KEY, value: split.header, sublevel: this.#state })
      await writeBatch(this.#root, ops)
      stored = split.header
    }
    const positions = stored && stored.byteLength > 0 ? decodePositions(stored) : null
    if (positions && positions.version === DAG_VIEW_VERSION) {
      for (const [key, bytes] of (await this.#feedStates.iterator().all()) as [FeedKey, Buffer][]) {
        this.#positions.set(key, decodeFeedPosition(bytes))
      }
    } else {
      await this.#clear()
      await this.#state.put(STATE_KEY, encodeStateHeader(DAG_VIEW_VERSION))
    }
    const level = this.#data
    const last = (await level.iterator({ ...CHANGES_RANGE, reverse: true, limit: 1 }).all()) as [
      string,
      Buffer,
    ][]
    const changes =
      last.length > 0 ? fromLexHex(last[0][0].slice(2)) + decodeChangeRun(last[0][1]).length - 1 : 0
    this.indexer.changes = changes
    this.indexer.waiting = await this.#loadWaiting()
    const inline = (await level.get(INLINE_KEY)) as Buffer | undefined
    this.#inlineLength = inline ? decodeUintRecord(inline, 'the in-line marker') : 0
    const heads = ((await level.keys(HEADS_RANGE).all()) as string[]).map(hashOfHeadKey)
    this.commits.load(changes, heads)
  }

  /**
   * How many nodes wait for links: one read. An index that kept them under `p!` (read whole at
   * every open, before) has them moved to the keys by hash once, here.
   */
  async #loadWaiting(): Promise<number> {
    const legacy = (await this.#data.iterator({ ...PENDING_RANGE, limit: 1 }).all()) as [string, Buffer][]
    if (legacy.length > 0) {
      // Written before `w!` existed, so nothing waits there yet: one batch moves them all.
      const records = (await this.#data.iterator(PENDING_RANGE).all()) as [string, Buffer][]
      const { ops, count } = await this.indexer.migrateWaiting(
        records.map(([key, bytes]) => ({ key, bytes })),
      )
      await writeBatch(
        this.#root,
        ops.map((op) => this.#dataOp(op)),
      )
      return count
    }
    const stored = (await this.#data.get(WAITING_COUNT_KEY)) as Buffer | undefined
    return stored ? decodeUintRecord(stored, 'the count of waiting nodes') : 0
  }

  /**
   * At open, before `load`: appends the outbox's entries the writer's feed lacks, then deletes its
   * records and stores the in-line marker they imply, in one batch (groups commit no marker).
   */
  async replayOutbox(writer: Feed<Buffer>): Promise<{ appended: number; dropped: DroppedEntry[] }> {
    const stored = (await this.#data.get(INLINE_KEY)) as Buffer | undefined
    const marker = stored ? decodeUintRecord(stored, 'the in-line marker') : 0
    return this.outbox.replay(writer, this.#root, (end) =>
      end > marker ? [this.#dataOp({ type: 'put', key: INLINE_KEY, value: encodeUintRecord(end) })] : [],
    )
  }

  /** Whether every entry present locally is indexed (local ones in-line, others by the view). */
  caughtUp(): boolean {
    const local = this.#opts.localFeed()
    for (const feed of this.#opts.feeds()) {
      const position = this.#positions.get(feed.id) ?? 0
      if (feed.id === local) {
        // Only this log appends to it, and in-line before appending: an uncounted block is not new.
        if (position >= feed.length || this.#inlineLength >= feed.length) continue
        return false
      }
      // Blocks stored but not yet counted in `length` (a download just landed) are not indexed.
      if (position >= feed.length && lengthIsCurrent(feed)) continue
      return false
    }
    return true
  }

  /** Resolves when a view batch stalls on a storage fault (see `stalled`). */
  whenStalled(): Promise<void> {
    if (!this.#onStall) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => (resolve = r))
      this.#onStall = { promise, resolve }
    }
    return this.#onStall.promise
  }

  /** Local writes and later batches fail with `err` (the view or its storage failed). */
  fail(err: Error): void {
    this.#failure ??= err
  }

  /** Local writes fail with `err` from now on (the log is closing); the view finishes its batch. */
  closeWrites(err: Error): void {
    this.#closedWrites ??= err
    this.outbox.stop()
    this.#wakeRetry?.()
  }

  /** Throws when local writes cannot be committed. */
  assertUsable(): void {
    if (this.#failure) throw this.#failure
    if (this.#closedWrites) throw this.#closedWrites
  }

  /**
   * Indexes and commits a group of local nodes (holding the lock), their seqs `first…` reserved on
   * the writer's feed: their DAG writes, the in-line indexes' writes and the outbox record of
   * their entries in one batch; then the in-memory state and events; then the entries go to the
   * outbox's flusher. `committed`: the committed records the group read (its hashes and links);
   * `visible`: hashes known visible without a read. Nothing is committed when it rejects.
   */
  async commitLocal(
    candidates: Candidate[],
    committed: Map<NodeHash, Buffer>,
    visible: (hash: NodeHash) => boolean,
    first: number,
    entries: Buffer[],
    proofs: readonly BatchProof[],
  ): Promise<BatchOutcome> {
    this.assertUsable()
    const counters = this.indexer.counters()
    let outcome: BatchOutcome
    try {
      let ops: DagOp[]
      ;({ ops, outcome } = await this.indexer.indexLocal(candidates, committed, visible))
      // No marker write: the outbox record (kept until the view has passed its entries) says the
      // same, and the replay at open stores the marker from the records it deletes.
      await this.commits.commit({
        ops,
        extra: [this.outbox.put(first, entries)],
        outcome,
        what: 'local writes',
        fresh: false,
        proofs,
      })
    } catch (err) {
      this.indexer.restore(counters)
      throw err
    }
    this.#inlineLength = first + entries.length
    // The storage takes writes again: a view batch waiting for it need not wait out its pause.
    this.#wakeRetry?.()
    this.outbox.enqueue(first, entries)
    return outcome
  }

  /** Committed records of these hashes (undefined where not visible), one round trip. */
  readRecords(hashes: readonly string[]): Promise<(NodeRecord | undefined)[]> {
    return this.reads.readRecords(hashes)
  }

  readChanges(range: { gt: number; lt: number; reverse: boolean; limit: number }): Promise<KnownNode[]> {
    return this.reads.readChanges(range)
  }

  onCommit(listener: () => void): () => void {
    return this.commits.onCommit(listener)
  }

  attach(index: InlineIndex): void {
    this.commits.attach(index)
  }

  detach(index: InlineIndex): void {
    this.commits.detach(index)
  }

  // ---- the kappa view ---------------------------------------------------------------------------

  /**
   * `storeState`: the mapped entries (if any) planned and committed with the positions, holding
   * the lock for each attempt. A storage fault stalls the batch: the lock goes while it waits (so
   * local writes fail with ERR_STORAGE instead of waiting too, and readers get what the index
   * holds), and the batch is planned again, as the index may have moved meanwhile.
   */
  async #commitViewBatch(put: LevelOperation, position: FeedPosition | null): Promise<void> {
    const entries = this.#mapped
    this.#mapped = null
    for (let attempt = 0; ; attempt++) {
      try {
        await this.lock.run(() => this.#tryViewBatch(entries, put, position, attempt))
        this.#stalled = null
        return
      } catch (err) {
        if (!isStorageFault(err) || this.#closedWrites) {
          this.fail(toError(err))
          throw err
        }
        // An engine's failure was reported as it happened; a lack of room, on the first attempt.
        if (attempt === 0) this.#storage.report(toError(err))
        this.#stalled = toError(err)
        this.#onStall?.resolve()
        this.#onStall = null
        await this.#pause(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt))
      }
    }
  }

  /** One attempt of a view batch (holding the lock); nothing of it is committed when it rejects. */
  async #tryViewBatch(
    entries: Entry<unknown>[] | null,
    put: LevelOperation,
    position: FeedPosition | null,
    attempt: number,
  ): Promise<void> {
    if (this.#failure) throw this.#failure
    if (attempt > 0 && this.#closedWrites) throw this.#closedWrites
    if (entries === null || position === null) {
      // Nothing mapped (every entry of the batch was undecodable, or a fresh state): only the
      // positions move.
      const outcome = emptyOutcome(this.indexer.changes)
      await this.commits.commit({ ops: [], extra: [put], outcome, what: 'replicated nodes', fresh: true })
      if (position) this.#positions.set(position.feed, position.count)
      else this.#positions = new Map()
      return
    }
    const feed = entries[0].key
    const end = entries[entries.length - 1].seq + 1
    const local = feed === this.#opts.localFeed()
    // Local entries below the marker were indexed in-line by their group: only the position moves.
    const todo = local ? entries.filter((e) => e.seq >= this.#inlineLength) : entries
    const counters = this.indexer.counters()
    try {
      const { ops, outcome } =
        todo.length > 0
          ? await this.indexer.map(todo)
          : { ops: [], outcome: emptyOutcome(this.indexer.changes) }
      const extra = local ? this.outbox.passed(end) : []
      extra.push(put)
      // Replicated blocks were stored without the free-space check seeing them: measure it now. Our
      // own passed the check as they were appended.
      await this.commits.commit({ ops, extra, outcome, what: 'replicated nodes', fresh: !local })
    } catch (err) {
      this.indexer.restore(counters)
      throw err
    }
    this.#positions.set(position.feed, position.count)
    if (local) this.outbox.forget(end)
  }

  /** Waits `ms`, or less when the log closes or the storage takes writes again. */
  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#wakeRetry = done
    }).finally(() => {
      this.#wakeRetry = null
    })
  }

  async #clear(): Promise<void> {
    // The state first: a crash between these leaves no state, and a start without state clears the rest.
    await this.#state.clear()
    await this.#feedStates.clear()
    await this.#data.clear()
  }

  /** The op, now for sublevel `d`. */
  #dataOp(op: DagOp): LevelOperation {
    ;(op as { sublevel?: unknown }).sublevel = this.#data
    return op as unknown as LevelOperation
  }
}

/** A view batch whose commit hit a storage fault is tried again after this, doubling up to the max. */
const RETRY_FIRST_MS = 100
const RETRY_MAX_MS = 5000

/** The position a view batch stores: `count` entries of `feed` indexed. */
interface FeedPosition {
  feed: FeedKey
  count: number
}

function emptyOutcome(changes: number): BatchOutcome {
  return { arrived: [], visible: [], duplicates: [], rejected: [], changes }
}
