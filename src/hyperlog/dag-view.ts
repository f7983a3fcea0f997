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
 * read back by kappa, the ones below the group marker only move the position and delete the
 * outbox records they pass. A group hides its nodes as a view batch of them would: those at or past
 * what can count of the local feed (a writer no record names yet, or one removed) resolve as links
 * but are never shown, in this store as on every other.
 *
 * The view takes excluded entries too (kappa's `withExcluded`): their nodes resolve as links but
 * are hidden — per feed, the nodes from a seq on (`x!`), as kappa's `counted` said when the DAG
 * last looked. When that changes below what was indexed (`recount`), the heads are computed again
 * and the change indexes built again (a new generation).
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
  type IsHidden,
  type KnownNode,
  type ValueDecodes,
  type VerifyNode,
} from './dag-indexer.js'
import { DagLock } from './dag-lock.js'
import { DagReads } from './dag-reads.js'
import { DagStorage, isStorageFault } from './dag-storage.js'
import type { NodeHasher } from './hash.js'
import {
  ANCHORED_KEY,
  CHANGES_RANGE,
  DUE_ANCHORS_RANGE,
  GENERATION_KEY,
  HEADS_RANGE,
  GROUP_MARKER_KEY,
  COPIES_RANGE,
  HIDDEN_RANGE,
  NODES_RANGE,
  WAITING_COUNT_KEY,
  decodeChangeRun,
  decodeNodeRecord,
  decodeUintRecord,
  encodeUintRecord,
  fromLexHex,
  hashOfHeadKey,
  headKey,
  hiddenKey,
  copyKey,
  copiesRange,
  dueAnchorKey,
  encodeNodeRecord,
  hashOfCopyKey,
  nodeKey,
  type NodeRecord,
} from './messages.js'
import { Outbox, type DroppedEntry } from './outbox.js'
import type { ChangeSource } from './read-stream.js'
import type { BatchProof, NodeHash } from './types.js'

export type { InlineIndex } from './dag-commit.js'

/** Bump when the index layout changes: the index is then cleared and rebuilt at open. */
export const DAG_VIEW_VERSION = 2
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
  /** How many entries of a feed count (kappa's `counted`): the nodes of the rest are hidden. */
  counted: (feed: FeedKey) => number
  /**
   * How many entries of a feed can count, however many it holds (kappa's `countable`): asked of
   * the local feed, whose entries are indexed before they are appended.
   */
  countable: (feed: FeedKey) => number
  /** Kappa's `countChanges`: while it stays, `counted` does (but for entries feeds gain). */
  countChanges: () => number
  /** After each commit, synchronously, before the batch's callers resume. */
  onCommit: (outcome: BatchOutcome) => void
  onOutboxError: (err: Error) => void
  /** A commit failed on a storage fault (reported once until the storage heals). */
  onStorageFault: (err: Error) => void
  /** The free space of the index's file system (null: not known, nothing checked). */
  space: FreeSpace | null
  /** Closes and opens the index database again (when the log opened it itself). */
  reopen?: () => Promise<void>
  /**
   * The log is owned: a commit in which visible nodes link hidden ones marks those anchors due
   * (`a!`), and calls `onAnchorsDue` after it (anchors.ts).
   */
  anchoring?: { onDue: () => void }
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
  /** The group marker: local entries with a smaller seq were indexed by their group. */
  #groupIndexed = 0
  /** Per feed with hidden nodes: the seq they start at (committed, `x!`). */
  #hiddenFrom = new Map<FeedKey, number>()
  /** One more each time which nodes are hidden changes (committed, `X`). */
  #generation = 0
  /** Some record or copy is an anchor (committed, `A`): hidden whatever the hidden points. */
  #anchored = false
  /** `countChanges` when the last recount began (-1: none yet; kappa runs one at start). */
  #recounted = -1
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
    this.reads = new DagReads(
      this.#data,
      () => this.commits.changes,
      (record) => this.isHidden(record),
    )
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
      withExcluded: true,
      recount: () =>
        this.#untilStored(async (attempt) => {
          if (attempt > 0 && this.#closedWrites) throw this.#closedWrites
          await this.#recount()
        }),
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

  /** One more each time which nodes are hidden changes. */
  get generation(): number {
    return this.#generation
  }

  /** Whether some node may be hidden: a feed's from a seq on, or an anchor (committed). */
  get hidesAny(): boolean {
    return this.#hiddenFrom.size > 0 || this.#anchored
  }

  /** Whether a committed node is hidden: it resolves as a link, but no reader sees it. */
  isHidden(record: Pick<NodeRecord, 'feed' | 'seq' | 'entry'>): boolean {
    return record.entry.anchor === true || this.#hiddenByPoint(record)
  }

  /** `isHidden`, but for `feed`, whose nodes are hidden from `from` on (a batch's own point). */
  #hiddenWith(feed: FeedKey, from: number): IsHidden {
    return (record) =>
      record.entry.anchor === true ||
      (record.feed === feed ? record.seq >= from : this.#hiddenByPoint(record))
  }

  /** Whether a record lies at or past its feed's hidden point (an anchor there counts nowhere). */
  #hiddenByPoint(record: Pick<NodeRecord, 'feed' | 'seq'>): boolean {
    const from = this.#hiddenFrom.get(record.feed)
    return from !== undefined && record.seq >= from
  }

  // ---- anchors (anchors.ts) ----------------------------------------------------------------------

  /** The nodes whose anchors may be due (`a!`), in key order, at most `limit`. */
  async dueAnchors(limit: number): Promise<NodeHash[]> {
    const keys = (await this.#data.keys({ ...DUE_ANCHORS_RANGE, limit }).all()) as string[]
    return keys.map((key) => key.slice(2) as NodeHash)
  }

  /** Forgets that these anchors may be due (checked, or written). */
  async clearDueAnchors(hashes: readonly NodeHash[]): Promise<void> {
    if (hashes.length === 0) return
    await this.#data.batch(hashes.map((hash) => ({ type: 'del', key: dueAnchorKey(hash) })))
  }

  /**
   * The record to anchor node `hash` with, or null when it needs none here: it is not indexed, or
   * some entry of it counts — its own or a copy that is not past its feed's hidden point (an
   * anchor there counts too: it resolves the links everywhere its feed is taken).
   */
  async anchorable(hash: NodeHash): Promise<NodeRecord | null> {
    const [bytes] = await this.reads.readMany([nodeKey(hash)])
    if (bytes === undefined) return null
    const record = decodeNodeRecord(bytes)
    if (!this.#hiddenByPoint(record)) return null
    const range = copiesRange(hash)
    for (const [key, copy] of (await this.#data.iterator(range).all()) as [string, Buffer][]) {
      if (hashOfCopyKey(key) === hash && !this.#hiddenByPoint(decodeNodeRecord(copy))) return null
    }
    return record
  }

  /** Adds to a batch's `ops` the marks of the `due` anchors and of the first anchor indexed. */
  #addAnchorOps(ops: DagOp[], due: Set<NodeHash> | undefined, outcome: BatchOutcome): void {
    if (outcome.anchored && !this.#anchored) ops.push({ type: 'put', key: ANCHORED_KEY, value: HEAD_MARK })
    for (const hash of due ?? []) ops.push({ type: 'put', key: dueAnchorKey(hash), value: HEAD_MARK })
  }

  /** After a commit: the anchor state in memory, and the anchors due announced. */
  #anchorsCommitted(due: Set<NodeHash> | undefined, outcome: BatchOutcome): void {
    if (outcome.anchored) this.#anchored = true
    if (due && due.size > 0) this.#opts.anchoring?.onDue()
  }

  /**
   * The set a batch collects the anchors it makes due in: none when the log is open, or when no
   * node is hidden, nor hidden by the batch itself (`hides`: it moves its feed's point).
   */
  #dueSet(hides: boolean): Set<NodeHash> | undefined {
    return this.#opts.anchoring && (hides || this.hidesAny) ? new Set() : undefined
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
    const marker = (await level.get(GROUP_MARKER_KEY)) as Buffer | undefined
    this.#groupIndexed = marker ? decodeUintRecord(marker, 'the group marker') : 0
    const heads = ((await level.keys(HEADS_RANGE).all()) as string[]).map(hashOfHeadKey)
    for (const [key, bytes] of (await level.iterator(HIDDEN_RANGE).all()) as [string, Buffer][])
      this.#hiddenFrom.set(key.slice(2) as FeedKey, decodeUintRecord(bytes, 'a hidden point'))
    const generation = (await level.get(GENERATION_KEY)) as Buffer | undefined
    this.#generation = generation ? decodeUintRecord(generation, 'the hidden generation') : 0
    this.#anchored = (await level.get(ANCHORED_KEY)) !== undefined
    this.commits.load(changes, heads)
  }

  /** How many nodes wait for links: one read. */
  async #loadWaiting(): Promise<number> {
    const stored = (await this.#data.get(WAITING_COUNT_KEY)) as Buffer | undefined
    return stored ? decodeUintRecord(stored, 'the count of waiting nodes') : 0
  }

  /**
   * At open, before `load`: appends the outbox's entries the writer's feed lacks, then deletes its
   * records and stores the group marker they imply, in one batch (groups commit no marker).
   */
  async replayOutbox(writer: Feed<Buffer>): Promise<{ appended: number; dropped: DroppedEntry[] }> {
    const stored = (await this.#data.get(GROUP_MARKER_KEY)) as Buffer | undefined
    const marker = stored ? decodeUintRecord(stored, 'the group marker') : 0
    return this.outbox.replay(writer, this.#root, (end) =>
      end > marker
        ? [this.#dataOp({ type: 'put', key: GROUP_MARKER_KEY, value: encodeUintRecord(end) })]
        : [],
    )
  }

  /**
   * Whether every entry present locally is indexed (local ones by their group, others by the view),
   * and the last recount saw what counts now (else one is due).
   */
  caughtUp(): boolean {
    const local = this.#opts.localFeed()
    if (this.#recounted !== this.#opts.countChanges()) return false
    for (const feed of this.#opts.feeds()) {
      const position = this.#positions.get(feed.id) ?? 0
      if (feed.id === local) {
        // Only this log appends to it, and indexes before appending: an uncounted block is not new.
        if (position >= feed.length || this.#groupIndexed >= feed.length) continue
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
    const feed = candidates[0]!.record.feed
    // What can count of the local feed is read now, holding the lock. When it changed over the
    // nodes indexed already (a membership change the view has not recounted yet), they are hidden
    // or shown again first, so the group's hidden point continues theirs.
    let countable = this.#opts.countable(feed)
    if (this.#localHiddenPoint(countable, this.#localIndexed()) !== this.#hiddenFrom.get(feed)) {
      await this.#recount()
      countable = this.#opts.countable(feed)
    }
    const end = first + entries.length
    const hiddenFrom = this.#localHiddenPoint(countable, end)
    const counters = this.indexer.counters()
    let outcome: BatchOutcome
    const due = this.#dueSet(hiddenFrom !== undefined)
    try {
      let ops: DagOp[]
      const hidden = this.#hiddenWith(feed, countable)
      ;({ ops, outcome } = await this.indexer.indexLocal(candidates, committed, visible, hidden, due))
      this.#addAnchorOps(ops, due, outcome)
      // No marker write: the outbox record (kept until the view has passed its entries) says the
      // same, and the replay at open stores the marker from the records it deletes.
      const extra = [this.outbox.put(first, entries)]
      if (hiddenFrom !== this.#hiddenFrom.get(feed)) extra.push(this.#hiddenOp(feed, hiddenFrom))
      await this.commits.commit({ ops, extra, outcome, what: 'local writes', proofs })
    } catch (err) {
      this.indexer.restore(counters)
      throw err
    }
    this.#setHidden(feed, hiddenFrom)
    this.#anchorsCommitted(due, outcome)
    this.#groupIndexed = end
    // A node hidden through another writer's copy that this store's own counts: shown through it.
    // A crash before this recount leaves the copy stored: the recount at start shows it.
    if (outcome.rehome) await this.#recount()
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
    await this.#untilStored((attempt) => this.#tryViewBatch(entries, put, position, attempt))
  }

  /**
   * Runs `attempt` holding the lock until it commits: a storage fault stalls it (lock released,
   * readers answered with what the index holds) and it is tried again after a pause.
   */
  async #untilStored(attempt: (n: number) => Promise<void>): Promise<void> {
    for (let n = 0; ; n++) {
      const attemptNow = n
      try {
        await this.lock.run(() => attempt(attemptNow))
        this.#stalled = null
        return
      } catch (err) {
        if (!isStorageFault(err) || this.#closedWrites) {
          this.fail(toError(err))
          throw err
        }
        // An engine's failure was reported as it happened; a lack of room, on the first attempt.
        if (n === 0) this.#storage.report(toError(err))
        this.#stalled = toError(err)
        this.#onStall?.resolve()
        this.#onStall = null
        await this.#pause(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** n))
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
      const freshFrom = performance.now()
      await this.commits.commit({ ops: [], extra: [put], outcome, what: 'replicated nodes', freshFrom })
      if (position) this.#positions.set(position.feed, position.count)
      else this.#positions = new Map()
      return
    }
    const feed = entries[0].key
    const start = entries[0].seq
    const end = entries[entries.length - 1].seq + 1
    const local = feed === this.#opts.localFeed()
    // Replicated blocks were stored without the free-space check seeing them: it measures again
    // before the commit, starting now so the system call overlaps the mapping. Our own passed the
    // check as they were appended.
    const freshFrom = local ? undefined : this.#storage.measureAhead()
    // Local entries below the group marker were indexed by their group: only the position moves.
    const todo = local ? entries.filter((e) => e.seq >= this.#groupIndexed) : entries
    // What counts is read now, holding the lock (kappa's flags may be older). When it changed
    // below this batch, the nodes indexed already are hidden or shown again first. Of the local
    // feed, what can count (its groups index past what it holds), over all its groups indexed.
    const countedOf = () => (local ? this.#opts.countable(feed) : this.#opts.counted(feed))
    const stale = (counted: number) =>
      local
        ? this.#localHiddenPoint(counted, this.#localIndexed()) !== this.#hiddenFrom.get(feed)
        : Math.min(counted, start) !== Math.min(this.#hiddenFrom.get(feed) ?? Infinity, start)
    let counted = countedOf()
    if (stale(counted)) {
      await this.#recount()
      counted = countedOf()
    }
    const hiddenFrom = local
      ? this.#localHiddenPoint(counted, Math.max(end, this.#localIndexed()))
      : counted < end
        ? counted
        : undefined
    const counters = this.indexer.counters()
    let ops: DagOp[]
    let outcome: BatchOutcome
    const due = this.#dueSet(hiddenFrom !== undefined)
    try {
      const hidden = this.#hiddenWith(feed, counted)
      ;({ ops, outcome } =
        todo.length > 0
          ? await this.indexer.map(todo, hidden, due)
          : { ops: [], outcome: emptyOutcome(this.indexer.changes) })
      this.#addAnchorOps(ops, due, outcome)
      const extra = local ? this.outbox.passed(end) : []
      if (hiddenFrom !== this.#hiddenFrom.get(feed)) extra.push(this.#hiddenOp(feed, hiddenFrom))
      extra.push(put)
      await this.commits.commit({ ops, extra, outcome, what: 'replicated nodes', freshFrom })
    } catch (err) {
      this.indexer.restore(counters)
      throw err
    }
    this.#positions.set(position.feed, position.count)
    this.#setHidden(feed, hiddenFrom)
    this.#anchorsCommitted(due, outcome)
    if (local) this.outbox.forget(end)
    // A node hidden through its own copy got one that counts: shown through it (as after a group).
    if (outcome.rehome) await this.#recount()
  }

  /** The committed record of a feed's hidden point (none: deleted). */
  #hiddenOp(feed: FeedKey, from: number | undefined): LevelOperation {
    const key = hiddenKey(feed)
    return (
      from === undefined
        ? { type: 'del', key, sublevel: this.#data }
        : { type: 'put', key, value: encodeUintRecord(from), sublevel: this.#data }
    ) as LevelOperation
  }

  #setHidden(feed: FeedKey, from: number | undefined): void {
    if (from === undefined) this.#hiddenFrom.delete(feed)
    else this.#hiddenFrom.set(feed, from)
  }

  /** Where the feed's hidden nodes should start now, by what counts (undefined: none hidden). */
  #hiddenPoint(feed: Pick<Feed, 'id' | 'length'>): number | undefined {
    if (feed.id === this.#opts.localFeed()) {
      return this.#localHiddenPoint(this.#opts.countable(feed.id), this.#localIndexed())
    }
    const counted = this.#opts.counted(feed.id)
    return counted < Math.min(this.#positions.get(feed.id) ?? 0, feed.length) ? counted : undefined
  }

  /**
   * Where the local feed's hidden nodes start with `indexed` of its entries indexed: what can count
   * of it, when below (its groups index entries before the feed holds them, so what the feed holds
   * says nothing here).
   */
  #localHiddenPoint(countable: number, indexed: number): number | undefined {
    return countable < indexed ? countable : undefined
  }

  /** How many of the local feed's entries are indexed: by the view, or by their groups. */
  #localIndexed(): number {
    const local = this.#opts.localFeed()
    return Math.max(local === null ? 0 : (this.#positions.get(local) ?? 0), this.#groupIndexed)
  }

  /**
   * Holding the lock: compares what counts now with what is hidden, for every feed, over what
   * the view indexed, and which copy each node with several copies shows through. Where that
   * changed, the hidden points move, the nodes take their new copies, the heads are computed again
   * from every node record (the nodes no shown node links to, hidden ones left out), and the
   * generation goes up — in one batch; then the change indexes build again. No `'add'` events.
   */
  async #recount(): Promise<void> {
    if (this.#failure) throw this.#failure
    const countChanges = this.#opts.countChanges()
    const next = new Map(this.#hiddenFrom)
    const ops: DagOp[] = []
    for (const feed of this.#opts.feeds()) {
      const from = this.#hiddenPoint(feed)
      if (from === next.get(feed.id)) continue
      if (from === undefined) next.delete(feed.id)
      else next.set(feed.id, from)
      const key = hiddenKey(feed.id)
      ops.push(
        from === undefined ? { type: 'del', key } : { type: 'put', key, value: encodeUintRecord(from) },
      )
    }
    const hidden = (record: NodeRecord) => {
      const from = next.get(record.feed)
      return record.entry.anchor === true || (from !== undefined && record.seq >= from)
    }
    const rehomed = await this.#rehome(hidden, ops)
    if (ops.length === 0) {
      this.#recounted = countChanges
      return
    }
    const shown: NodeHash[] = []
    const linked = new Set<string>()
    // The hidden nodes, when visible ones linking them may need anchors.
    const hiddenNodes = this.#opts.anchoring ? new Set<NodeHash>() : null
    for await (const [key, bytes] of this.#data.iterator(NODES_RANGE) as AsyncIterable<[string, Buffer]>) {
      const record = rehomed.get(key.slice(2) as NodeHash) ?? decodeNodeRecord(bytes)
      if (hidden(record)) {
        hiddenNodes?.add(key.slice(2) as NodeHash)
        continue
      }
      shown.push(key.slice(2) as NodeHash)
      for (const link of record.entry.links) linked.add(link)
    }
    const heads = new Set(shown.filter((hash) => !linked.has(hash)))
    const due = hiddenNodes ? new Set([...hiddenNodes].filter((hash) => linked.has(hash))) : undefined
    for (const hash of this.commits.heads) if (!heads.has(hash)) ops.push({ type: 'del', key: headKey(hash) })
    for (const hash of heads) {
      if (!this.commits.heads.has(hash)) ops.push({ type: 'put', key: headKey(hash), value: HEAD_MARK })
    }
    const generation = this.#generation + 1
    ops.push({ type: 'put', key: GENERATION_KEY, value: encodeUintRecord(generation) })
    // Through the one commit (room checked, faults noted): it makes no node visible.
    const outcome = emptyOutcome(this.indexer.changes)
    this.#addAnchorOps(ops, due, outcome)
    await this.commits.commit({ ops, extra: [], outcome, what: 'hidden nodes' })
    this.#hiddenFrom = next
    this.#generation = generation
    this.#recounted = countChanges
    this.commits.rebuilt(heads)
    this.#anchorsCommitted(due, outcome)
  }

  /**
   * The nodes hidden (by `hidden`) through their own copy that another writer's copy would show:
   * each takes that copy as its record (the same change number, so it keeps its place in the
   * change order), and its own becomes a copy; `ops` gets the writes. Few nodes have copies.
   */
  async #rehome(hidden: IsHidden, ops: DagOp[]): Promise<Map<NodeHash, NodeRecord>> {
    const rehomed = new Map<NodeHash, NodeRecord>()
    const copies = new Map<NodeHash, Array<{ key: string; record: NodeRecord }>>()
    for await (const [key, bytes] of this.#data.iterator(COPIES_RANGE) as AsyncIterable<[string, Buffer]>) {
      const hash = hashOfCopyKey(key)
      let list = copies.get(hash)
      if (!list) copies.set(hash, (list = []))
      list.push({ key, record: decodeNodeRecord(bytes) })
    }
    if (copies.size === 0) return rehomed
    const hashes = [...copies.keys()]
    const found = await this.reads.readMany(hashes.map(nodeKey))
    hashes.forEach((hash, i) => {
      const bytes = found[i]
      if (bytes === undefined) return
      const own = decodeNodeRecord(bytes)
      if (!hidden(own)) return
      const other = copies.get(hash)!.find((copy) => !hidden(copy.record))
      if (!other) return
      const { feed, seq, entryBytes } = other.record
      ops.push({
        type: 'put',
        key: nodeKey(hash),
        value: encodeNodeRecord(feed, seq, own.change, entryBytes),
      })
      ops.push({ type: 'del', key: other.key })
      ops.push({
        type: 'put',
        key: copyKey(hash, own.feed),
        value: encodeNodeRecord(own.feed, own.seq, 0, own.entryBytes),
      })
      rehomed.set(hash, { ...other.record, change: own.change })
    })
    return rehomed
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

/** The value of a head key. */
const HEAD_MARK = Buffer.alloc(0)

function emptyOutcome(changes: number): BatchOutcome {
  return { arrived: [], visible: [], duplicates: [], rejected: [], changes }
}

/** The position a view batch stores: `count` entries of `feed` indexed. */
interface FeedPosition {
  feed: FeedKey
  count: number
}
