/**
 * `Indexer`: runs one view over every feed (multifeed-index semantics; docs/DESIGN.md, "Indexing"). It maps
 * batches of contiguous entries of one feed, persists its positions after each batch, and reports
 * its progress and state. One run loop at a time; appends only wake it.
 */
import { KappaError } from '../errors.js'
import type { Feed, FeedKey } from '../feeds/types.js'
import { withCallback, type Callback } from '../util/callback.js'
import { callHook } from './call-hook.js'
import { directHooksOf } from './direct-hooks.js'
import { catchUpLengths } from '../feeds/index.js'
import { ReadAhead, Undecodable } from './read-ahead.js'
import { freshState, layoutOf, loadPositions, storeBatchPosition } from './view-positions.js'
import type {
  Entry,
  View,
  ViewHandle,
  ViewState,
  ViewStateContext,
  ViewStateName,
  VoidCallback,
} from './types.js'
import { toError } from '../util/errors.js'

export const DEFAULT_MAX_BATCH = 100

export interface IndexerOptions<T> {
  name: string
  version: number
  view: View<T, object>
  /** Every feed, in the order they were added. */
  feeds: () => Feed<T>[]
  /** Resolves once the feeds are loaded. */
  opened: Promise<void>
  onStateUpdate: (state: ViewState) => void
  onError: (err: Error) => void
  /** An entry of a remote feed did not decode and was skipped (the view never sees it). */
  onUndecodable: (feed: FeedKey, seq: number, err: Error) => void
  /**
   * How many entries of a feed count (from seq 0; default: all it holds). When a feed's count
   * drops below what the view indexed, the view is cleared and re-indexed.
   */
  counted?: (feed: Feed<T>) => number
  /**
   * Goes up whenever what counts may have changed: a `withExcluded` view's `recount` is called
   * (between batches) when it moved since the last call.
   */
  countChanges?: () => number
}

interface BatchRange<T> {
  feed: Feed<T>
  start: number
  end: number
}

/** A pass: the feeds that had work when it began, in `feeds()` order, each with its noted reach. */
interface Pass<T> {
  feeds: Feed<T>[]
  targets: number[]
  /** The feeds before it have reached their targets (positions only grow within a pass). */
  cursor: number
}

interface ReadyWaiter {
  targets: Map<FeedKey, number>
  /** The targets not yet reached (checked per batch for its feed alone). */
  behind: Map<FeedKey, number>
  /** `countChanges()` when the waiter came: a `withExcluded` view has recounted at least that far. */
  countChanges: number
  resolve: () => void
  reject: (err: Error) => void
}

export class Indexer<T = unknown> implements ViewHandle {
  readonly name: string
  readonly #version: number
  readonly #view: View<T, object>
  readonly #maxBatch: number
  readonly #feeds: () => Feed<T>[]
  readonly #onStateUpdate: (state: ViewState) => void
  readonly #onError: (err: Error) => void
  readonly #onUndecodable: IndexerOptions<T>['onUndecodable']
  readonly #counted: (feed: Feed<T>) => number
  readonly #countChanges: () => number
  /** The view takes excluded entries too (flagged), and recounts instead of being cleared. */
  readonly #withExcluded: boolean
  /** The view indexes sparse feeds (from their `start`); else it skips them. */
  readonly #sparse: boolean
  /** `countChanges()` at the last `recount` (-1: none yet; the first one runs at start). */
  #recounted = -1
  readonly #started: Promise<void>
  /** Feed key → entries indexed (and persisted, when the view stores state). */
  #positions = new Map<FeedKey, number>()
  #state: ViewStateName = 'idle'
  #isStarted = false
  /** Set while the run loop is active; `loop` is its promise (for close). */
  #running = false
  #loop: Promise<void> = Promise.resolve()
  #pauseWanted = false
  #failure: Error | null = null
  #closed = false
  #readyWaiters: ReadyWaiter[] = []
  #pauseWaiters: Array<() => void> = []
  #indexedBlocks = 0
  #prevIndexedBlocks = 0
  #indexStartTime = 0
  readonly #reader: ReadAhead<T>
  /*
   * What the indexer knows of the feeds, kept as they change so a batch costs what changed, not how
   * many feeds exist: a feed's reach changes only when it grows (`wake(feed)`) or when what counts
   * changes (`countChanges` moves: everything is looked at again), and its position only by a batch
   * or a re-index (everything again).
   */
  /** Every feed that may have work (a superset: `hasWork` drops those that have none). */
  #pending = new Map<FeedKey, Feed<T>>()
  /** A feed's place in `feeds()` (they are only ever added, at the end). */
  readonly #order = new Map<FeedKey, number>()
  /** Each feed's share of `totalBlocks`, and their sum. */
  readonly #shares = new Map<FeedKey, number>()
  #total = 0
  /** The feeds indexed beyond what counts of them (a re-index is due). */
  readonly #tooFar = new Set<FeedKey>()
  /** `countChanges()` when every feed was last looked at. */
  #seenCountChanges = -1

  constructor(opts: IndexerOptions<T>) {
    this.name = opts.name
    this.#version = opts.version
    this.#view = opts.view
    this.#maxBatch = opts.view.maxBatch ?? DEFAULT_MAX_BATCH
    this.#reader = new ReadAhead<T>(this.#maxBatch)
    this.#feeds = opts.feeds
    this.#onStateUpdate = opts.onStateUpdate
    this.#onError = opts.onError
    this.#onUndecodable = opts.onUndecodable
    this.#counted = opts.counted ?? ((feed) => feed.length)
    this.#countChanges = opts.countChanges ?? (() => 0)
    this.#withExcluded = opts.view.withExcluded === true
    this.#sparse = opts.view.sparse === true
    this.#started = this.#start(opts.opened)
  }

  ready(cb: VoidCallback): void
  ready(): Promise<void>
  ready(cb?: VoidCallback): Promise<void> {
    return withCallback(this.#readyImpl(), cb as Callback<void> | undefined)
  }

  pause(cb: VoidCallback): void
  pause(): Promise<void>
  pause(cb?: VoidCallback): Promise<void> {
    return withCallback(this.#pauseImpl(), cb as Callback<void> | undefined)
  }

  resume(): void {
    if (this.#closed || this.#failure) return
    if (this.#pauseWanted) {
      // The pause has not landed yet: cancel it; its callers are told once the batch in flight ends.
      this.#pauseWanted = false
      return
    }
    if (this.#state !== 'paused') return
    this.#setState('idle')
    this.wake()
  }

  getState(): ViewState {
    const context: ViewStateContext = {
      totalBlocks: this.#totalBlocks(),
      indexedBlocks: this.#indexedBlocks,
      prevIndexedBlocks: this.#prevIndexedBlocks,
      indexStartTime: this.#indexStartTime,
    }
    if (this.#failure) context.error = this.#failure
    return { state: this.#state, context }
  }

  /**
   * `feed` grew (or was added): run if there is work and nothing stops us. Without a feed, anything
   * may have changed and every feed is looked at again.
   */
  wake(feed?: Feed<T>): void {
    if (this.#isStarted) {
      if (feed) this.#refreshFeed(feed)
      else this.#refreshAll()
    }
    this.#tryRun()
  }

  /** Stops after the batch in flight; later calls reject with `ERR_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#started
    await this.#loop
    this.#resolvePauseWaiters()
    const err = KappaError.closed(`view '${this.name}'`)
    for (const w of this.#readyWaiters.splice(0)) w.reject(err)
  }

  async #start(opened: Promise<void>): Promise<void> {
    try {
      await opened
      this.#positions = await this.#loadPositions()
    } catch (err) {
      this.#fail(err)
      return
    }
    // A sparse feed's position counts from its start: the entries below were never indexed.
    let below = 0
    if (this.#sparse) for (const feed of this.#feeds()) if (this.#positions.has(feed.id)) below += feed.start
    this.#indexedBlocks = sum(this.#positions.values()) - below
    this.#prevIndexedBlocks = this.#indexedBlocks
    this.#refreshAll()
    this.#isStarted = true
    // The first state a listener sees, as multifeed-index reported it.
    this.#onStateUpdate(this.getState())
    this.#tryRun()
  }

  /** Stored positions, or a clean slate (clearing the data) when absent or of another version. */
  async #loadPositions(): Promise<Map<FeedKey, number>> {
    const { storeState } = this.#view
    const clearIndex = this.#view.clearIndex ?? this.#view.clearState
    const loaded = await loadPositions(this.#view, this.name, this.#version)
    if (loaded.indexed) return loaded.indexed
    // No state (a first start, or a crash while clearing) or another version: rebuild from scratch.
    if (clearIndex) await callHook(clearIndex, this.#view, [])
    if ((loaded.stored || layoutOf(this.#view) === 'per-feed') && storeState) {
      // Record the new version at once, so a reopen before the first batch does not clear again.
      await callHook(storeState, this.#view, [freshState(this.#view, this.#version)])
    }
    return new Map()
  }

  async #readyImpl(): Promise<void> {
    if (this.#closed) throw KappaError.closed(`view '${this.name}'`)
    await this.#started
    // Blocks already stored but not yet counted in `length` are present locally: wait for them too.
    await catchUpLengths(this.#feeds())
    if (this.#closed) throw KappaError.closed(`view '${this.name}'`)
    if (this.#failure) throw viewFailed(this.name, this.#failure)
    if (this.#state === 'paused') return
    const targets = this.#lengths()
    const countChanges = this.#countChanges()
    const behind = this.#behindOf(targets)
    if (behind.size === 0 && !this.#indexedTooFar() && this.#recountedTo(countChanges)) return
    await new Promise<void>((resolve, reject) => {
      this.#readyWaiters.push({ targets, behind, countChanges, resolve, reject })
      this.#tryRun()
    })
  }

  async #pauseImpl(): Promise<void> {
    if (this.#closed) throw KappaError.closed(`view '${this.name}'`)
    await this.#started
    if (this.#failure || this.#state === 'paused') return
    if (!this.#running) {
      this.#enterPaused()
      return
    }
    this.#pauseWanted = true
    await new Promise<void>((resolve) => this.#pauseWaiters.push(resolve))
  }

  async #run(): Promise<void> {
    try {
      // A pass indexes each feed up to the length it had when the pass began, earlier feeds first,
      // so a feed that keeps growing cannot starve the feeds after it.
      if (this.#indexedTooFar()) await this.#reindex()
      let pass = this.#newPass()
      while (!this.#pauseWanted && !this.#closed) {
        if (this.#indexedTooFar()) {
          await this.#reindex()
          pass = this.#newPass()
        }
        if (this.#mustRecount()) {
          await this.#recount()
          this.#settleReadyWaiters()
          continue
        }
        let range = this.#nextBatch(pass)
        if (!range) {
          if (!this.#hasWork()) break
          pass = this.#newPass()
          range = this.#nextBatch(pass)
          if (!range) break
        }
        if (this.#state !== 'indexing') this.#enterIndexing()
        await this.#indexBatch(range)
        this.#settleReadyWaiters(range.feed)
        if (!this.#pauseWanted) this.#resolvePauseWaiters()
      }
    } catch (err) {
      this.#running = false
      if (!this.#closed) this.#fail(err)
      return
    }
    this.#running = false
    if (this.#closed) return
    if (this.#pauseWanted) {
      this.#enterPaused()
      return
    }
    if (this.#state !== 'idle') this.#setState('idle')
    this.#settleReadyWaiters()
    this.#resolvePauseWaiters()
    // Appends that came while we settled (none can: no await since the last check) are covered
    // by wake(); calling this keeps that true if the loop above ever changes.
    this.#tryRun()
  }

  /** Runs if there is work and nothing stops us. */
  #tryRun(): void {
    if (!this.#isStarted || this.#failure || this.#closed || this.#running) return
    if (this.#state === 'paused' || this.#pauseWanted) return
    if (!this.#hasWork()) return
    this.#running = true
    this.#loop = this.#run()
  }

  /** A new pass: every feed with work now, in `feeds()` order, up to its reach now. */
  #newPass(): Pass<T> {
    this.#syncCounts()
    const feeds = [...this.#pending.values()].filter((feed) => this.#positionOf(feed) < this.#reach(feed))
    feeds.sort((a, b) => this.#order.get(a.id)! - this.#order.get(b.id)!)
    return { feeds, targets: feeds.map((feed) => this.#reach(feed)), cursor: 0 }
  }

  /** The first feed of the pass below its noted reach and what it may index now. */
  #nextBatch(pass: Pass<T>): BatchRange<T> | null {
    const { feeds, targets } = pass
    while (pass.cursor < feeds.length && this.#positionOf(feeds[pass.cursor]!) >= targets[pass.cursor]!) {
      pass.cursor++
    }
    for (let i = pass.cursor; i < feeds.length; i++) {
      const feed = feeds[i]!
      const start = this.#positionOf(feed)
      const reach = this.#reach(feed)
      if (start >= targets[i]! || start >= reach) continue
      return { feed, start, end: Math.min(reach, start + this.#maxBatch) }
    }
    return null
  }

  async #indexBatch({ feed, start, end }: BatchRange<T>): Promise<void> {
    const key = feed.id
    const values = await this.#reader.read(feed, start, end)
    const entries: Entry<T>[] = new Array<Entry<T>>(values.length)
    // What counts as the batch is read (a `withExcluded` view recounts whatever changes after).
    const counted = this.#withExcluded ? this.#counted(feed) : end
    let skipped = 0
    for (let i = 0; i < values.length; i++) {
      const value = values[i]
      // A remote entry that does not decode: skipped, reported, and the view goes on (a peer's bad
      // entry must never stop a view).
      if (value instanceof Undecodable) {
        skipped++
        this.#onUndecodable(key, start + i, value.error)
      } else if (start + i >= counted) entries[i - skipped] = { key, seq: start + i, value, excluded: true }
      else entries[i - skipped] = { key, seq: start + i, value }
    }
    if (skipped > 0) entries.length = values.length - skipped
    const view = this.#view
    const direct = directHooksOf(view)
    if (entries.length > 0) {
      if (direct) await direct.mapNow(entries)
      else await callHook(view.map, view, [entries])
    }
    const indexed = start + values.length
    await storeBatchPosition(view, direct, this.#version, this.#positions, key, indexed)
    this.#positions.set(key, indexed)
    this.#indexedBlocks += values.length
    if (entries.length > 0) view.indexed?.(entries)
  }

  /** Some feed's counted entries dropped below what the view indexed (a writer was removed). */
  #indexedTooFar(): boolean {
    if (this.#withExcluded) return false
    this.#syncCounts()
    return this.#tooFar.size > 0
  }

  /**
   * Clears the view and its positions: it indexes again only what counts now. A view has no
   * way to take back single entries, so dropping some means rebuilding it.
   */
  async #reindex(): Promise<void> {
    const view = this.#view
    const clearIndex = view.clearIndex ?? view.clearState
    if (!clearIndex) {
      throw new KappaError(
        'ERR_VIEW_FAILED',
        `view '${this.name}' must be re-indexed (a writer was removed) and has no clearIndex`,
      )
    }
    await callHook(clearIndex, view, [])
    if (view.storeState) {
      await callHook(view.storeState, view, [freshState(view, this.#version)])
    }
    this.#positions = new Map()
    this.#indexedBlocks = 0
    this.#refreshAll()
    for (const w of this.#readyWaiters) w.behind = this.#behindOf(w.targets)
  }

  /** A `withExcluded` view has not recounted since what counts last changed. */
  #mustRecount(): boolean {
    return this.#withExcluded && this.#recounted < this.#countChanges()
  }

  /** Whether the view has recounted since `countChanges` (always, for a view without excluded entries). */
  #recountedTo(countChanges: number): boolean {
    return !this.#withExcluded || this.#recounted >= countChanges
  }

  async #recount(): Promise<void> {
    const countChanges = this.#countChanges()
    const view = this.#view
    if (view.recount) await callHook(view.recount, view, [])
    this.#recounted = countChanges
  }

  /**
   * How far the view indexes a feed: what counts, or (`withExcluded`) every entry it holds;
   * nothing of a sparse feed unless the view is `sparse`.
   */
  #reach(feed: Feed<T>): number {
    if (feed.start > 0 && !this.#sparse) return 0
    return this.#withExcluded ? feed.length : this.#counted(feed)
  }

  /** A sparse view at a sparse feed's start: it has indexed none of it. */
  #atSparseStart(feed: Feed<T>, position: number): boolean {
    return this.#sparse && feed.start > 0 && position === feed.start
  }

  /**
   * Where the view stands in a feed: its position, or where the feed's entries begin (a sparse
   * feed's `start`, taken as the position of a sparse view that has indexed none of it yet).
   */
  #positionOf(feed: Feed<T>): number {
    const position = this.#positions.get(feed.id)
    if (position !== undefined) return position
    if (feed.start > 0 && this.#sparse) {
      this.#positions.set(feed.id, feed.start)
      return feed.start
    }
    return 0
  }

  #enterIndexing(): void {
    this.#prevIndexedBlocks = this.#indexedBlocks
    this.#indexStartTime = Date.now()
    this.#setState('indexing')
  }

  #enterPaused(): void {
    this.#pauseWanted = false
    this.#setState('paused')
    // ready() resolves at once while paused: tell those who were waiting too.
    for (const w of this.#readyWaiters.splice(0)) w.resolve()
    this.#resolvePauseWaiters()
  }

  #fail(err: unknown): void {
    const error = toError(err)
    this.#failure = error
    this.#pauseWanted = false
    this.#setState('error')
    const failed = viewFailed(this.name, error)
    for (const w of this.#readyWaiters.splice(0)) w.reject(failed)
    this.#resolvePauseWaiters()
    this.#onError(failed)
  }

  #setState(state: ViewStateName): void {
    if (this.#state === state) return
    this.#state = state
    this.#onStateUpdate(this.getState())
  }

  /** Resolves the waiters now caught up; `feed`: only its position moved since the last call. */
  #settleReadyWaiters(feed?: Feed<T>): void {
    if (this.#readyWaiters.length === 0) return
    const waiting: ReadyWaiter[] = []
    for (const w of this.#readyWaiters) {
      if (feed) this.#dropReached(w.behind, feed.id)
      else for (const key of w.behind.keys()) this.#dropReached(w.behind, key)
      if (w.behind.size === 0 && this.#recountedTo(w.countChanges)) w.resolve()
      else waiting.push(w)
    }
    this.#readyWaiters = waiting
  }

  #dropReached(behind: Map<FeedKey, number>, key: FeedKey): void {
    const target = behind.get(key)
    if (target !== undefined && (this.#positions.get(key) ?? 0) >= target) behind.delete(key)
  }

  #resolvePauseWaiters(): void {
    for (const resolve of this.#pauseWaiters.splice(0)) resolve()
  }

  /** The targets the view has not reached yet. */
  #behindOf(targets: Map<FeedKey, number>): Map<FeedKey, number> {
    const behind = new Map<FeedKey, number>()
    for (const [key, length] of targets) if ((this.#positions.get(key) ?? 0) < length) behind.set(key, length)
    return behind
  }

  #hasWork(): boolean {
    if (this.#mustRecount()) return true
    this.#syncCounts()
    for (const [key, feed] of this.#pending) {
      // Behind (more to index) or ahead (a removal: re-index).
      const reach = this.#reach(feed)
      const position = this.#positionOf(feed)
      if (position !== reach && !(position > reach && this.#atSparseStart(feed, position))) return true
      this.#pending.delete(key)
    }
    return false
  }

  /** Every feed's reach now (the targets of `ready`). */
  #lengths(): Map<FeedKey, number> {
    this.#refreshAll()
    const lengths = new Map<FeedKey, number>()
    for (const feed of this.#feeds()) lengths.set(feed.id, this.#reach(feed))
    return lengths
  }

  #totalBlocks(): number {
    if (!this.#isStarted) {
      let total = 0
      for (const feed of this.#feeds()) total += this.#shareOf(feed)
      return total
    }
    this.#syncCounts()
    return this.#total
  }

  /** A sparse view indexes a sparse feed from its start: the entries below are none of its work. */
  #shareOf(feed: Feed<T>): number {
    return Math.max(0, this.#reach(feed) - (this.#sparse ? feed.start : 0))
  }

  /** What counts changed since every feed was last looked at: look at every feed again. */
  #syncCounts(): void {
    if (this.#countChanges() !== this.#seenCountChanges) this.#refreshAll()
  }

  #refreshAll(): void {
    this.#seenCountChanges = this.#countChanges()
    this.#tooFar.clear()
    for (const feed of this.#feeds()) this.#refreshFeed(feed)
  }

  /** `feed` may have changed (grown, been added, counted otherwise): update what is kept of it. */
  #refreshFeed(feed: Feed<T>): void {
    const key = feed.id
    if (!this.#order.has(key)) this.#order.set(key, this.#order.size)
    this.#positionOf(feed)
    const share = this.#shareOf(feed)
    this.#total += share - (this.#shares.get(key) ?? 0)
    this.#shares.set(key, share)
    this.#pending.set(key, feed)
    const position = this.#positions.get(key) ?? 0
    // A sparse feed's start is where a sparse view stands before indexing any of it.
    if (position > this.#counted(feed) && !this.#atSparseStart(feed, position)) this.#tooFar.add(key)
    else this.#tooFar.delete(key)
  }
}

function viewFailed(name: string, cause: Error): KappaError {
  return new KappaError('ERR_VIEW_FAILED', `view '${name}' failed: ${cause.message}`, { cause })
}

function sum(values: Iterable<number>): number {
  let total = 0
  for (const v of values) total += v
  return total
}
