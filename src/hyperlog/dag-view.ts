/**
 * `DagView`: the DAG index — a kappa view over every writer's log for replicated entries, and the
 * in-line commit of local writes — plus the committed in-memory state readers use (the change
 * counter, the heads, commit notifications).
 *
 * Every DAG batch (a view batch of one feed, or a group of local writes) runs under one lock:
 * read the committed index, compute the writes (dag-indexer.ts), stage the writes of the in-line
 * change indexes, then commit ALL of it — with the view's positions, or with the group's outbox
 * record and the in-line marker — in ONE batch on the root database. Only then is the in-memory
 * state advanced and are events emitted. The view implements kappa's state hooks itself (the same
 * layout levelView uses: data in sublevel `d`, positions in sublevel `s` key `state`).
 */
import { causeOf, storageError, type FreeSpace } from '../util/storage-fault.js'
import type { Feed, FeedKey } from '../feeds/types.js'
import { lengthIsCurrent } from '../feeds/index.js'
import { decodePositions, encodePositions, type Entry, type View } from '../kappa/index.js'
import { writeBatch, type LevelDb, type LevelOperation, type LevelSublevel } from '../level/index.js'
import { DagLock } from './dag-lock.js'
import {
  DagIndexer,
  type BatchOutcome,
  type Counters,
  type DagOp,
  type KnownNode,
  type ValueDecodes,
  type VerifyNode,
} from './dag-indexer.js'
import type { NodeHasher } from './hash.js'
import {
  CHANGES_RANGE,
  HEADS_RANGE,
  INLINE_KEY,
  PENDING_RANGE,
  WAITING_COUNT_KEY,
  changeKey,
  decodeChangeRun,
  decodeUintRecord,
  decodeNodeRecord,
  encodeUintRecord,
  fromLexHex,
  hashOfHeadKey,
  nodeKey,
  type NodeRecord,
} from './messages.js'
import { Outbox, type DroppedEntry } from './outbox.js'
import { readKeys } from './read-keys.js'
import type { ChangeSource } from './read-stream.js'
import type { NodeHash } from './types.js'

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
  feeds: () => readonly Pick<Feed, 'id' | 'length' | 'blockLength' | 'core'>[]
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

/** A change index kept in the DAG's own batches (it lives in the same root database). */
export interface InlineIndex {
  /** Stages the index's writes for these newly visible nodes; `done` runs after the commit. */
  stage(nodes: KnownNode[]): Promise<{ ops: LevelOperation[]; done: () => void }>
}

export class DagView implements ChangeSource {
  /** The kappa view to install. */
  readonly view: View<unknown, object>
  readonly lock = new DagLock()
  readonly indexer: DagIndexer
  readonly outbox: Outbox
  /** Largest committed change number. */
  changes = 0
  /** Committed heads. */
  readonly heads = new Set<NodeHash>()
  /** Replicated nodes refused by `verify` so far. */
  verifyFailures = 0
  /** Of those, nodes refused because their value does not decode with the log's encoding. */
  malformedNodes = 0
  /** The seq the next local entry gets (feed length plus the entries reserved since open). */
  nextSeq = 0

  readonly #opts: DagViewOptions
  readonly #root: LevelDb
  readonly #data: LevelSublevel
  readonly #state: LevelSublevel
  /** Per feed: entries the view has indexed, contiguous from 0. */
  #positions = new Map<FeedKey, number>()
  /** Local entries with a smaller seq were indexed in-line. */
  #inlineLength = 0
  /** The view batch mapped and waiting for `storeState`. */
  #staged: ViewBatchPlan | null = null
  /**
   * A commit failed in the storage engine: nothing is committed again until `#heal` has made sure
   * the engine is sound (a LevelDB log with a torn record loses what is written after it).
   */
  #fault: Error | null = null
  /** Wakes a view batch waiting to retry its commit (the log is closing). */
  #wakeRetry: (() => void) | null = null
  /** A view batch waits for the storage: the fault, until the batch commits. */
  stalled: Error | null = null
  #onStall: { promise: Promise<void>; resolve: () => void } | null = null
  #release: (() => void) | null = null
  #failure: Error | null = null
  #closedWrites: Error | null = null
  readonly #inline = new Set<InlineIndex>()
  readonly #listeners = new Set<() => void>()

  constructor(db: LevelDb, opts: DagViewOptions) {
    this.#opts = opts
    this.#root = ((db as { db?: LevelDb }).db ?? db) as LevelDb
    const dag = db.sublevel('hyperlog') as unknown as LevelDb
    this.#data = dag.sublevel('d', {
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    }) as unknown as LevelSublevel
    this.#state = dag.sublevel('s', { valueEncoding: 'buffer' }) as unknown as LevelSublevel
    this.outbox = new Outbox(
      dag.sublevel('o', { keyEncoding: 'utf8', valueEncoding: 'buffer' }) as unknown as LevelSublevel,
      opts.onOutboxError,
    )
    this.indexer = new DagIndexer({
      read: (keys) => this.#readMany(keys),
      range: (range) => this.#data.iterator(range).all() as Promise<[string, Buffer][]>,
      hasher: opts.hasher,
      verify: opts.verify,
      decodes: opts.decodes,
      isLocal: (feed) => feed === opts.localFeed(),
      changes: 0,
    })
    this.view = {
      maxBatch: DAG_MAX_BATCH,
      map: (entries: Entry<unknown>[]) => this.#map(entries),
      fetchState: () => this.#state.get(STATE_KEY) as Promise<Uint8Array | undefined>,
      storeState: (state: Uint8Array) => this.#storeState(state),
      clearIndex: () => this.#clear(),
      // Local entries below the marker were indexed in-line by their group: kappa moves the
      // position over them without reading them back (storeState alone, see #storeState).
      indexedAhead: (feed: FeedKey) => (feed === this.#opts.localFeed() ? this.#inlineLength : 0),
    } as unknown as View<unknown, object>
  }

  /** The root database every DAG batch commits to. */
  get root(): LevelDb {
    return this.#root
  }

  /**
   * Loads the committed state (at open, after the outbox replay, before the view is installed).
   * No stored positions, or another version: the index is cleared and fresh positions stored now,
   * so kappa finds them and never clears behind the local writes' back.
   */
  async load(localLength: number): Promise<void> {
    const stored = (await this.#state.get(STATE_KEY)) as Uint8Array | undefined
    const positions = stored && stored.byteLength > 0 ? decodePositions(stored) : null
    if (positions && positions.version === DAG_VIEW_VERSION) this.#positions = positions.indexed
    else {
      await this.#clear()
      await this.#state.put(STATE_KEY, encodePositions({ version: DAG_VIEW_VERSION, indexed: new Map() }))
    }
    const level = this.#data
    const last = (await level.iterator({ ...CHANGES_RANGE, reverse: true, limit: 1 }).all()) as [
      string,
      Buffer,
    ][]
    this.changes =
      last.length > 0 ? fromLexHex(last[0][0].slice(2)) + decodeChangeRun(last[0][1]).length - 1 : 0
    this.indexer.changes = this.changes
    for (const key of (await level.keys(HEADS_RANGE).all()) as string[]) this.heads.add(hashOfHeadKey(key))
    this.indexer.waiting = await this.#loadWaiting()
    const inline = (await level.get(INLINE_KEY)) as Buffer | undefined
    this.#inlineLength = inline ? decodeUintRecord(inline, 'the in-line marker') : 0
    this.nextSeq = localLength
    // Whoever subscribed before the state was loaded (change indexes) sees the loaded changes.
    for (const listener of this.#listeners) guarded(listener)
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

  /** Keeps `index` in every DAG batch from now on (call it holding the lock, the index caught up). */
  attach(index: InlineIndex): void {
    this.#inline.add(index)
  }

  detach(index: InlineIndex): void {
    this.#inline.delete(index)
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
   * Commits a group of local nodes (held lock): its DAG writes, the in-line indexes' writes, the
   * outbox record of its entries and the new in-line marker, in one batch; then the in-memory
   * state and events; then the entries go to the flusher.
   */
  async commitLocal(ops: DagOp[], outcome: BatchOutcome, first: number, entries: Buffer[]): Promise<void> {
    this.assertUsable()
    let bytes = 0
    for (const entry of entries) bytes += entry.byteLength
    // The entries go to the outbox and (with the index records) about as much again.
    const room = this.#beforeCommit(3 * bytes, 'local writes cannot be committed')
    if (room) await room
    let inlineDone = noop
    const end = first + entries.length
    // No marker write: the outbox record (kept until the view has passed its entries) says the
    // same, and the replay at open stores the marker from the records it deletes.
    const batch = ops as unknown as LevelOperation[]
    for (const op of ops) this.#dataOp(op)
    if (this.#inline.size > 0 && outcome.visible.length > 0) {
      const { ops: inlineOps, done } = await this.#stageInline(outcome.visible)
      for (const op of inlineOps) batch.push(op)
      inlineDone = done
    }
    batch.push(this.outbox.put(first, entries))
    try {
      await writeBatch(this.#root, batch)
    } catch (err) {
      const error = storageError('the DAG index could not commit local writes', err)
      if (isStorageFault(err)) this.#noteFault(error)
      else this.fail(error)
      throw error
    }
    this.#inlineLength = end
    // The storage takes writes again: a view batch waiting for it need not wait out its pause.
    this.#wakeRetry?.()
    this.#apply(outcome, inlineDone)
    this.outbox.enqueue(first, entries)
  }

  /** Committed records of these hashes (undefined where not visible), one round trip. */
  async readRecords(hashes: readonly string[]): Promise<(NodeRecord | undefined)[]> {
    const found = await this.#readMany(hashes.map(nodeKey))
    return found.map((bytes) => (bytes === undefined ? undefined : decodeNodeRecord(bytes)))
  }

  /**
   * The visible nodes with a change in (`gt`, `lt`), in change order (or reversed), at most
   * `limit`: the change runs overlapping the range — the one holding `gt + 1` starts at or before
   * it — then one read of their records.
   */
  async readChanges(range: {
    gt: number
    lt: number
    reverse: boolean
    limit: number
  }): Promise<KnownNode[]> {
    const low = range.gt + 1
    const high = Math.min(range.lt - 1, this.changes)
    if (range.limit <= 0 || high < low) return []
    const level = this.#data
    const [runStart] = (await level
      .keys({ gt: CHANGES_RANGE.gt, lte: changeKey(low), reverse: true, limit: 1 })
      .all()) as string[]
    const runs = level.iterator({
      gte: runStart ?? changeKey(low),
      lte: changeKey(high),
      reverse: range.reverse,
    }) as AsyncIterable<[string, Buffer]> & { close(): Promise<void> }
    const keys: NodeHash[] = []
    try {
      for await (const [key, bytes] of runs) {
        const first = fromLexHex(key.slice(2))
        const hashes = decodeChangeRun(bytes)
        const from = Math.max(low, first) - first
        const to = Math.min(high, first + hashes.length - 1) - first
        if (range.reverse) for (let i = to; i >= from && keys.length < range.limit; i--) keys.push(hashes[i])
        else for (let i = from; i <= to && keys.length < range.limit; i++) keys.push(hashes[i])
        if (keys.length >= range.limit) break
      }
    } finally {
      await runs.close()
    }
    const records = await this.readRecords(keys)
    const nodes: KnownNode[] = []
    for (let i = 0; i < keys.length; i++) {
      const record = records[i]
      if (record) nodes.push({ hash: keys[i], record })
    }
    return nodes
  }

  onCommit(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  // ---- the kappa view ---------------------------------------------------------------------------

  async #map(entries: Entry<unknown>[]): Promise<void> {
    const release = await this.lock.acquire()
    try {
      if (this.#failure) throw this.#failure
      this.#staged = await this.#plan(entries)
      this.#release = release
    } catch (err) {
      release()
      throw err
    }
  }

  /** A view batch's writes (holding the lock; the indexer's counters move, see `counters`). */
  async #plan(entries: Entry<unknown>[]): Promise<ViewBatchPlan> {
    const counters = this.indexer.counters()
    try {
      const feed = entries[0].key as FeedKey
      const end = entries[entries.length - 1].seq + 1
      const local = feed === this.#opts.localFeed()
      // Local entries below the marker were indexed in-line by their group: only the position moves.
      const todo = local ? entries.filter((e) => e.seq >= this.#inlineLength) : entries
      const { ops, outcome } =
        todo.length > 0
          ? await this.indexer.map(todo)
          : { ops: [], outcome: emptyOutcome(this.indexer.changes) }
      const staged = await this.#stageInline(outcome.visible)
      const dataOps = ops.map((op) => this.#dataOp(op))
      if (local) dataOps.push(...this.outbox.passed(end))
      return {
        ops: [...dataOps, ...staged.ops],
        outcome,
        done: [staged.done],
        feed,
        end,
        local,
        entries,
        counters,
      }
    } catch (err) {
      this.indexer.restore(counters)
      throw err
    }
  }

  async #storeState(state: Uint8Array): Promise<void> {
    let staged = this.#staged
    this.#staged = null
    // Without a mapped batch, kappa moved over local entries indexed in-line (`indexedAhead`):
    // this batch stores the position and deletes the outbox records it passed, under the lock.
    let release = this.#release ?? (staged ? null : await this.lock.acquire())
    this.#release = null
    const put = { type: 'put', key: STATE_KEY, value: state, sublevel: this.#state } as LevelOperation
    const localFeed = this.#opts.localFeed()
    const localEnd = staged || localFeed === null ? undefined : decodePositions(state).indexed.get(localFeed)
    const passed = localFeed !== null && localEnd !== undefined ? { feed: localFeed, end: localEnd } : null
    // The counters the planned batch moved: put back if it is not committed (local writes may
    // commit while a retry waits, so only the plan being tried is undone).
    let moved = staged?.counters ?? null
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          if (attempt > 0) {
            // Retrying after a storage fault: the index may have moved meanwhile, so plan again.
            release = await this.lock.acquire()
            if (this.#closedWrites) throw this.#closedWrites
            if (staged) {
              staged = await this.#plan(staged.entries)
              moved = staged.counters
            }
          }
          const ops = staged
            ? [...staged.ops, put]
            : passed
              ? [...this.outbox.passed(passed.end), put]
              : [put]
          // Replicated nodes arrive after their blocks, which Hypercore stored without the
          // checker seeing them: measure the free space now.
          await this.#beforeCommit(opsBytes(ops), 'the DAG index cannot commit replicated nodes', true)
          try {
            await writeBatch(this.#root, ops)
          } catch (err) {
            const error = storageError('the DAG index could not commit replicated nodes', err)
            if (isStorageFault(err)) this.#noteFault(error)
            throw error
          }
          this.stalled = null
          if (passed) {
            this.#positions.set(passed.feed, passed.end)
            this.outbox.forget(passed.end)
          }
          if (staged) {
            const done = staged
            this.#positions.set(done.feed, done.end)
            if (done.local) this.outbox.forget(done.end)
            this.#apply(done.outcome, () => done.done.forEach((d) => d()))
          }
          return
        } catch (err) {
          if (moved) this.indexer.restore(moved)
          moved = null
          if (!isStorageFault(err) || this.#closedWrites) {
            this.fail(err instanceof Error ? err : new Error(String(err)))
            throw err
          }
          // An engine's failure was reported as it happened; a lack of room, on the first attempt.
          if (attempt === 0 && !this.#fault) this.#opts.onStorageFault(err as Error)
          // The lock goes while we wait, so local writes fail (ERR_STORAGE) instead of waiting too,
          // and readers waiting for the index get what it holds instead of waiting too.
          release?.()
          release = null
          this.stalled = err as Error
          this.#onStall?.resolve()
          this.#onStall = null
          await this.#pause(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt))
        }
      }
    } finally {
      release?.()
    }
  }

  /** Waits `ms`, or less when the log closes. */
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

  /**
   * Before a commit: the storage healed (after a fault), and room for `bytes` more. Undefined (no
   * promise, no turn of the loop) in the usual case: no fault, and the free space known to suffice.
   */
  #beforeCommit(bytes: number, what: string, fresh = false): Promise<void> | undefined {
    if (this.#fault) return this.#heal(what).then(() => this.#opts.space?.check(bytes, what, fresh))
    return this.#opts.space?.check(bytes, what, fresh)
  }

  #noteFault(err: Error): void {
    if (!this.#fault) this.#opts.onStorageFault(err)
    this.#fault = err
  }

  /**
   * After a failed commit, before the next (holding the lock): with room on the file system, a
   * LevelDB memtable flush (`compactRange` of one key) moves what is acknowledged to a table and
   * starts a new log, leaving the one with the torn record behind; a probe write shows the engine
   * takes writes again. Failing that (the engine stopped itself), a database the log opened is
   * closed and opened again. Until one of them works, every commit fails with the cause.
   */
  async #heal(what: string): Promise<void> {
    // Without room the flush would fail too, and LevelDB would refuse writes until reopened.
    await this.#opts.space?.room(HEAL_BYTES, what)
    const root = this.#root as unknown as { compactRange?: (a: string, b: string) => Promise<void> }
    const probe = [{ type: 'del', key: PROBE_KEY, sublevel: this.#state } as LevelOperation]
    try {
      if (typeof root.compactRange === 'function') await root.compactRange(PROBE_RAW_KEY, PROBE_RAW_KEY)
      await writeBatch(this.#root, probe)
    } catch (err) {
      if (!this.#opts.reopen) throw storageError(what, err)
      try {
        await this.#opts.reopen()
        await writeBatch(this.#root, probe)
      } catch (again) {
        throw storageError(what, again)
      }
    }
    this.#fault = null
  }

  async #clear(): Promise<void> {
    // Positions first: a crash between the two leaves no state, and a start without state clears the data.
    await this.#state.clear()
    await this.#data.clear()
  }

  // ---- shared -----------------------------------------------------------------------------------

  async #stageInline(visible: KnownNode[]): Promise<{ ops: LevelOperation[]; done: () => void }> {
    if (visible.length === 0 || this.#inline.size === 0) return { ops: [], done: () => {} }
    const staged = await Promise.all([...this.#inline].map((index) => index.stage(visible)))
    return {
      ops: staged.flatMap((s) => s.ops),
      done: () => {
        for (const s of staged) guarded(s.done)
      },
    }
  }

  #apply(outcome: BatchOutcome, inlineDone: () => void): void {
    this.changes = outcome.changes
    for (const { hash, record } of outcome.visible) {
      for (const link of record.entry.links) this.heads.delete(link)
      this.heads.add(hash)
    }
    this.verifyFailures += outcome.rejected.length
    this.malformedNodes += outcome.malformed ?? 0
    inlineDone()
    // Listeners are application code: their exceptions must not fail the view.
    guarded(() => this.#opts.onCommit(outcome))
    for (const listener of this.#listeners) guarded(listener)
  }

  /** The op, now for sublevel `d` (stamped in place: a copy per op was ~2 µs of a local row). */
  #dataOp(op: DagOp): LevelOperation {
    ;(op as { sublevel?: unknown }).sublevel = this.#data
    return op as unknown as LevelOperation
  }

  #readMany(keys: string[]): Promise<(Buffer | undefined)[]> {
    return readKeys<Buffer>(this.#data, keys)
  }
}

function noop(): void {}

/** A view batch planned by `#plan`, committed by `#storeState` (planned again after a fault). */
interface ViewBatchPlan {
  ops: LevelOperation[]
  outcome: BatchOutcome
  done: (() => void)[]
  feed: FeedKey
  end: number
  local: boolean
  entries: Entry<unknown>[]
  counters: Counters
}

/** The key a probe write deletes (in the positions sublevel), and its key in the root database. */
const PROBE_KEY = 'probe'
const PROBE_RAW_KEY = '!hyperlog!!s!probe'
/** Room a heal needs: a memtable flush writes up to the 16 MiB write buffer, and a new log. */
const HEAL_BYTES = 32 * 1024 * 1024
/** A view batch whose commit hit a storage fault is tried again after this, doubling up to the max. */
const RETRY_FIRST_MS = 100
const RETRY_MAX_MS = 5000

/** A failure of the storage (a full disk, a read-only directory), worth trying again once it heals. */
function isStorageFault(err: unknown): boolean {
  if (causeOf(err) !== null) return true
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'LEVEL_IO_ERROR') return true
  }
  return false
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

function emptyOutcome(changes: number): BatchOutcome {
  return { arrived: [], visible: [], duplicates: [], rejected: [], changes }
}

/** Runs `fn`; an exception surfaces as an uncaught exception of the caller's code, not ours. */
function guarded(fn: () => void): void {
  try {
    fn()
  } catch (err) {
    process.nextTick(() => {
      throw err
    })
  }
}
