/**
 * `createIndex`: an index over the log's change order, as hyperlog-index was. `map` gets visible
 * nodes in change order, in batches (one range read of changes and one `getMany` per batch), and
 * stages its writes; the writes and the index's position (the last change indexed) commit to the
 * index's database in ONE atomic batch, so after a crash or restart the index resumes exactly.
 *
 * The position lives in the sublevel `hyperlog-index` of `db`'s parent (of `db` itself when `db`
 * is not a sublevel), under the index's name: give each index its own sublevel as `db`.
 */
import { KappaError, asKappaError } from '../errors.js'
import { withCallback, type Callback } from '../util/callback.js'
import { ViewBatch } from '../kappa/index.js'
import { writeBatch, type LevelDb, type LevelOperation } from '../level/index.js'
import type { KnownNode } from './dag-indexer.js'
import type { InlineIndex } from './dag-view.js'
import type { ChangeSource } from './read-stream.js'
import { StagedWrites } from './staged-writes.js'
import type { BatchProof, HyperlogNode } from './types.js'

const NO_PROOFS: readonly BatchProof[] = []
import { markHandled, settled } from '../util/errors.js'

export interface CreateIndexOptions<T = unknown> {
  /** Where the index keeps its data and position (any abstract-level database or sublevel). */
  db: LevelDb
  /** Distinguishes several indexes over one database (default `'default'`). */
  name?: string
  /** Most nodes per `map` call (default 100). */
  maxBatch?: number
  map(nodes: HyperlogNode<T>[], staged: StagedWrites): Promise<void> | void
  /**
   * The index is built again from the first change (nodes it indexed were hidden, or hidden
   * ones came back: a writer was removed or blocked, or unblocked): the log has cleared `db`;
   * forget what you keep in memory of it. Called before the first `map` of the new build.
   */
  reset?(): Promise<void> | void
}

export interface ChangeIndex {
  /** Resolves once every change present when called is indexed; rejects with `ERR_VIEW_FAILED` after a failure. */
  ready(cb?: Callback<void>): Promise<void>
  /** The last change indexed. */
  readonly position: number
  /**
   * True while the index is kept in-line: its `map` runs inside the DAG's own batches and its
   * writes commit with them (its db lives in the log's root database, and it has caught up).
   * Every visible node is then indexed.
   */
  readonly inline: boolean
  /** Stops after the batch in flight; idempotent, later `ready` calls reject with `ERR_CLOSED`. */
  close(cb?: Callback<void>): Promise<void>
}

export interface ChangeIndexSource extends ChangeSource {
  /**
   * Settles once the log is open and the DAG's committed state is loaded: before that its
   * `changes` and `generation` are 0, whatever is stored.
   */
  readonly opened: Promise<void>
  /** Resolves once the DAG index has indexed every entry present now. */
  dagReady(): Promise<void>
  /** Whether the DAG index has indexed every entry present now (synchronous). */
  caughtUp(): boolean
  /** The root database of the DAG's batches: an index whose db lives there can be in-line. */
  readonly root: LevelDb
  /**
   * Goes up each time which nodes are hidden changes: an index built at another generation is
   * built again from the first change.
   */
  readonly generation: number
  /** Runs `fn` holding the DAG lock (no DAG batch in flight). */
  exclusive<R>(fn: () => R): Promise<R>
  attach(index: InlineIndex): void
  detach(index: InlineIndex): void
}

const DEFAULT_MAX_BATCH = 100
const POSITIONS = 'hyperlog-index'

interface ReadyWaiter {
  target: number
  resolve: () => void
  reject: (err: Error) => void
}

export class HyperlogIndex<T = unknown> implements ChangeIndex, InlineIndex {
  position = 0
  /** Attached to the DAG's batches (see ChangeIndex.inline). */
  inline = false

  readonly #source: ChangeIndexSource
  readonly #toNode: (node: KnownNode) => HyperlogNode<T>
  readonly #onError: (err: Error) => void
  readonly #db: LevelDb
  readonly #root: LevelDb
  readonly #positions: LevelDb
  readonly #name: string
  readonly #maxBatch: number
  readonly #map: CreateIndexOptions<T>['map']
  readonly #opened: Promise<void>
  readonly #unsubscribe: () => void
  /** The index's db lives in the DAG's root database: it attaches once caught up. */
  readonly #canInline: boolean
  readonly #reset: CreateIndexOptions<T>['reset']
  /** The DAG's generation the index's stored state was built at (see ChangeIndexSource). */
  #generation = 0
  #running: Promise<void> | null = null
  #failure: Error | null = null
  #closed = false
  #waiters: ReadyWaiter[] = []

  constructor(
    source: ChangeIndexSource,
    toNode: (node: KnownNode) => HyperlogNode<T>,
    onError: (err: Error) => void,
    opts: CreateIndexOptions<T>,
  ) {
    this.#source = source
    this.#toNode = toNode
    this.#onError = onError
    this.#db = opts.db
    this.#name = opts.name ?? 'default'
    this.#maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH
    this.#map = opts.map
    this.#reset = opts.reset
    const parent = (opts.db as { parent?: LevelDb }).parent
    this.#root = (opts.db as { db?: LevelDb }).db ?? opts.db
    this.#positions = (parent ?? opts.db).sublevel(POSITIONS, {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
    }) as unknown as LevelDb
    this.#canInline = this.#root === source.root
    this.#opened = this.#open()
    markHandled(this.#opened)
    this.#unsubscribe = source.onCommit(() => this.#wake())
  }

  ready(cb?: Callback<void>): Promise<void> {
    // In-line and the DAG caught up: every visible node is indexed, nothing to wait for.
    const caughtUp =
      this.inline && !this.#closed && !this.#failure && this.#current() && this.#source.caughtUp()
    return withCallback(caughtUp ? Promise.resolve() : this.#readySlow(), cb)
  }

  /** In-line: stages the index's writes for the nodes a DAG batch makes visible. */
  async stage(
    nodes: KnownNode[],
    proofs: readonly BatchProof[],
    through: number,
  ): Promise<{ ops: LevelOperation[]; done: () => void }> {
    let mapped: { ops: LevelOperation[]; afterCommit: (() => void)[] }
    try {
      mapped = await this.#mapBatch(nodes, proofs, through)
    } catch {
      // The index failed (its waiters are told); the DAG batch goes on without it.
      this.inline = false
      this.#source.detach(this)
      return { ops: [], done: () => {} }
    }
    return {
      ops: mapped.ops,
      done: () => {
        this.position = through
        this.#settle()
        for (const fn of mapped.afterCommit) fn()
      },
    }
  }

  async #readySlow(): Promise<void> {
    if (this.#closed) throw KappaError.closed('index')
    await this.#opened
    await this.#source.dagReady()
    const target = this.#source.changes
    if (this.#failure) throw this.#failed()
    if (this.position >= target && this.#current()) return
    await new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target, resolve, reject })
      this.#wake()
    })
  }

  close(cb?: Callback<void>): Promise<void> {
    return withCallback(this.#close(), cb)
  }

  /** The DAG dropped the index for a rebuild (which nodes are hidden changed): it wakes to build again. */
  detached(): void {
    this.inline = false
  }

  /** Whether the index was built at the DAG's current generation. */
  #current(): boolean {
    return this.#generation === this.#source.generation
  }

  async #close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#unsubscribe()
    if (this.inline) await this.#source.exclusive(() => this.#source.detach(this))
    this.inline = false
    await settled(this.#opened)
    await this.#running
    const err = KappaError.closed('index')
    for (const w of this.#waiters.splice(0)) w.reject(err)
  }

  async #open(): Promise<void> {
    // An index compared with the DAG before it loaded would take itself for caught up (and go
    // in-line) at change 0, generation 0.
    await settled(this.#source.opened)
    try {
      const stored = (await this.#positions.get(this.#name)) as string | undefined
      // `<change>` or `<change>/<generation>` (generation 0 is written without it).
      const [change, generation = '0'] = (stored ?? '0').split('/')
      this.position = Number(change)
      this.#generation = Number(generation)
      if (
        !Number.isSafeInteger(this.position) ||
        this.position < 0 ||
        !Number.isSafeInteger(this.#generation) ||
        this.#generation < 0
      ) {
        throw new KappaError(
          'ERR_STORAGE',
          `index '${this.#name}': its stored position is not a change number`,
        )
      }
    } catch (err) {
      this.#fail(err)
      throw err
    }
    this.#wake()
  }

  #wake(): void {
    if (this.#running || this.#closed || this.#failure || this.inline) return
    if (this.position >= this.#source.changes && !this.#canInline && this.#current()) return
    this.#running = this.#run().finally(() => {
      this.#running = null
      this.#wake()
    })
  }

  async #run(): Promise<void> {
    try {
      await this.#opened
      for (;;) {
        if (this.#closed) return
        if (!this.#current()) await this.#rebuild()
        else if (this.position >= this.#source.changes) break
        const generation = this.#source.generation
        const through = this.#source.changes
        const nodes = await this.#source.readChanges({
          gt: this.position,
          lt: Infinity,
          reverse: false,
          limit: this.#maxBatch,
        })
        // Fewer than asked: every change up to `through` was read, the hidden ones too (which
        // readChanges leaves out), so the position moves past them.
        const end = nodes.length < this.#maxBatch ? through : 0
        if (nodes.length === 0 && this.position >= end) break
        await this.#indexBatch(nodes, generation, end)
        this.#settle()
      }
      // Caught up: attach, holding the DAG lock so no batch falls between the check and the attach.
      if (this.#canInline && !this.#closed) {
        await this.#source.exclusive(() => {
          if (this.#closed || this.position < this.#source.changes || !this.#current()) return
          this.inline = true
          this.#source.attach(this)
        })
        this.#settle()
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  /**
   * Built again from the first change: the db cleared, the position 0 at the DAG's generation
   * (a crash in between leaves the old generation stored: the next open builds again).
   */
  async #rebuild(): Promise<void> {
    const generation = this.#source.generation
    await this.#db.clear()
    await this.#positions.put(this.#name, positionValue(0, generation))
    this.position = 0
    this.#generation = generation
    if (this.#reset) await this.#reset()
  }

  /** Read at `generation`: committed with it (a later generation builds again). */
  async #indexBatch(nodes: KnownNode[], generation: number, through: number): Promise<void> {
    const last = Math.max(through, nodes.length > 0 ? nodes[nodes.length - 1].record.change : 0)
    const { ops, afterCommit } = await this.#mapBatch(
      nodes.filter((n) => !n.hidden),
      NO_PROOFS,
      last,
      generation,
    )
    await writeBatch(this.#root, ops)
    this.position = last
    this.#generation = generation
    for (const fn of afterCommit) fn()
  }

  /**
   * Runs `map` over the nodes (none: only the position moves): its staged writes plus the new
   * position `through`, and its after-commit calls.
   */
  async #mapBatch(
    nodes: KnownNode[],
    proofs: readonly BatchProof[],
    through: number,
    generation = this.#source.generation,
  ): Promise<{ ops: LevelOperation[]; afterCommit: (() => void)[] }> {
    const batch = new ViewBatch()
    const staged = new StagedWrites(
      this.#db,
      batch,
      proofs,
      nodes.map((n) => n.record.entry.value),
    )
    try {
      if (nodes.length > 0)
        await this.#map(
          nodes.map((n) => this.#toNode(n)),
          staged,
        )
    } catch (err) {
      this.#fail(err)
      throw this.#failed()
    } finally {
      batch.seal()
    }
    const root: unknown = this.#root
    const ops = batch.operations.map((op) =>
      op.sublevel === root ? { ...op, sublevel: undefined } : op,
    ) as LevelOperation[]
    ops.push({
      type: 'put',
      key: this.#name,
      value: positionValue(through, generation),
      sublevel: this.#positions,
    } as LevelOperation)
    return { ops, afterCommit: staged.committed }
  }

  #settle(): void {
    const waiting: ReadyWaiter[] = []
    for (const w of this.#waiters) {
      if (this.position >= w.target && this.#current()) w.resolve()
      else waiting.push(w)
    }
    this.#waiters = waiting
  }

  #fail(err: unknown): void {
    if (this.#failure) return
    this.#failure = asKappaError(err, 'ERR_VIEW_FAILED')
    const failed = this.#failed()
    for (const w of this.#waiters.splice(0)) w.reject(failed)
    this.#onError(failed)
  }

  #failed(): KappaError {
    const cause = this.#failure
    if (cause instanceof KappaError && cause.code === 'ERR_VIEW_FAILED') return cause
    return new KappaError('ERR_VIEW_FAILED', `index '${this.#name}' failed: ${cause?.message ?? ''}`, {
      cause,
    })
  }
}

/** The stored position: the last change indexed, and the DAG generation when not 0. */
function positionValue(change: number, generation: number): string {
  return generation === 0 ? String(change) : `${change}/${generation}`
}
