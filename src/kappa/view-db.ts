/**
 * `ViewDb`: the database a `levelView` hands to its setup. While the view's `map` has a batch in
 * flight, every write is staged into it and every read sees its staged writes first; the batch
 * commits atomically with the view's position. Calls from api functions, and calls with no batch
 * in flight, read committed data and write straight to the database. Which is which: the rule of
 * view-staging.ts, so the one `db` a setup closes over serves both `map` and `api`, as kappa-view's did.
 */
import { KappaError } from '../errors.js'
import { optsAndCallback, withCallback, type Callback } from '../util/callback.js'
import type { EncodingOptions, LevelOperation, LevelSublevel, StagedOperation } from './view-batch.js'
import { ViewStaging } from './view-staging.js'
import { ViewChanges, type ViewWatch, type WatchOptions } from './view-changes.js'
import { ViewIterator, type ViewRangeOptions } from './view-iterator.js'

export type ViewDbKey = string | Uint8Array

export type ViewDbOperation<V> =
  | ({ type: 'put'; key: ViewDbKey; value: V } & EncodingOptions)
  | ({ type: 'del'; key: ViewDbKey } & EncodingOptions)

export interface SublevelOptions {
  keyEncoding?: string
  valueEncoding?: string
  separator?: string
}

/** Errors of `ViewDb` calls: a missing key in callback style has `notFound: true`. */
export type ViewDbError = Error & { notFound?: true; code?: string }

/** `value` is meaningful when `err` is null. */
export type GetCallback<V> = (err: ViewDbError | null, value: V) => void

/**
 * `V`: the values (`(db: ViewDb<number>) => …` in a levelView setup types them); `K`: the keys as
 * range reads and watches return them (strings unless the data's keyEncoding says otherwise).
 */
export class ViewDb<V = unknown, K extends ViewDbKey = string> {
  /** The underlying sublevel: committed data, with the whole abstract-level API. */
  readonly level: LevelSublevel
  readonly #staging: ViewStaging
  readonly #changes: ViewChanges
  #committedDb: ViewDb<V, K> | undefined

  /** Made by `levelView` (and `sublevel`). */
  constructor(level: LevelSublevel, staging: ViewStaging, changes: ViewChanges = new ViewChanges()) {
    this.level = level
    this.#staging = staging
    this.#changes = changes
  }

  /**
   * The value of `key`. Promise style: `undefined` when missing (abstract-level 3). Callback style:
   * a missing key is an error with `notFound: true` (code `ERR_NOT_FOUND`), as kappa-view's was.
   */
  get(key: ViewDbKey, cb: GetCallback<V>): void
  get(key: ViewDbKey, opts: EncodingOptions, cb: GetCallback<V>): void
  get(key: ViewDbKey, opts?: EncodingOptions): Promise<V | undefined>
  get(key: ViewDbKey, a?: EncodingOptions | GetCallback<V>, b?: GetCallback<V>): Promise<V | undefined> {
    const [opts, cb] = optsAndCallback<EncodingOptions, GetCallback<V>>(a, b)
    const value = this.#getImpl(key, opts)
    if (!cb) return value
    const found = value.then((v) => {
      if (v === undefined) throw KappaError.notFound(`key not found: ${String(key)}`)
      return v
    })
    return withCallback(found, cb as Callback<V>)
  }

  put(key: ViewDbKey, value: V, cb: Callback<void>): void
  put(key: ViewDbKey, value: V, opts: EncodingOptions, cb: Callback<void>): void
  put(key: ViewDbKey, value: V, opts?: EncodingOptions): Promise<void>
  put(key: ViewDbKey, value: V, a?: EncodingOptions | Callback<void>, b?: Callback<void>): Promise<void> {
    const [opts, cb] = optsAndCallback<EncodingOptions, Callback<void>>(a, b)
    return withCallback(this.#write([{ type: 'put', key, value, ...opts }], undefined), cb)
  }

  del(key: ViewDbKey, cb: Callback<void>): void
  del(key: ViewDbKey, opts: EncodingOptions, cb: Callback<void>): void
  del(key: ViewDbKey, opts?: EncodingOptions): Promise<void>
  del(key: ViewDbKey, a?: EncodingOptions | Callback<void>, b?: Callback<void>): Promise<void> {
    const [opts, cb] = optsAndCallback<EncodingOptions, Callback<void>>(a, b)
    return withCallback(this.#write([{ type: 'del', key, ...opts }], undefined), cb)
  }

  /** An array of operations (atomic), or with no argument a chained batch whose `write()` applies them. */
  batch(): ViewChainedBatch<V>
  batch(ops: ViewDbOperation<V>[], cb: Callback<void>): void
  batch(ops: ViewDbOperation<V>[], opts: EncodingOptions, cb: Callback<void>): void
  batch(ops: ViewDbOperation<V>[], opts?: EncodingOptions): Promise<void>
  batch(
    ops?: ViewDbOperation<V>[],
    a?: EncodingOptions | Callback<void>,
    b?: Callback<void>,
  ): Promise<void> | ViewChainedBatch<V> {
    if (ops === undefined) return new ViewChainedBatch<V>(this)
    const [opts, cb] = optsAndCallback<EncodingOptions, Callback<void>>(a, b)
    return withCallback(this.#write(ops, opts), cb)
  }

  /**
   * `[key, value]` rows in key order within `range` (`gt`/`gte`/`lt`/`lte`, `reverse`, `limit`,
   * encodings). Inside `map` the batch's staged writes are merged in; elsewhere committed data.
   * Async-iterable; `all()` collects the rest, `close()` (or leaving a `for await`) releases it.
   */
  iterator(range: ViewRangeOptions<K> = {}): ViewIterator<[K, V]> {
    return this.#rangeRead(range, (key, value) => [key as K, value as V])
  }

  /** The keys of `iterator(range)`. */
  keys(range: ViewRangeOptions<K> = {}): ViewIterator<K> {
    return this.#rangeRead(range, (key) => key as K)
  }

  /** The values of `iterator(range)`. */
  values(range: ViewRangeOptions<K> = {}): ViewIterator<V> {
    return this.#rangeRead(range, (_key, value) => value as V)
  }

  /**
   * Watches the keys in `range`: `'change'` with the writes in range of each commit — a view batch
   * with its position, or a write made straight to the database — right after it is committed.
   * A commit that wrote nothing in range emits nothing. Writes to sublevels are watched on their
   * own `ViewDb`. `close()` the watch to stop it.
   */
  watch(range: WatchOptions<K> = {}): ViewWatch<K, V> {
    return this.#changes.watch<K, V>(this.level, range)
  }

  /**
   * This database reading committed data only, whatever batch is in flight (its writes go
   * straight to the database): for api functions that read after an `await`, which would
   * otherwise join a batch in flight.
   */
  get committed(): ViewDb<V, K> {
    this.#committedDb ??= new ViewDb<V, K>(this.level, OUTSIDE_BATCHES, this.#changes)
    return this.#committedDb
  }

  /** A ViewDb over a sublevel of this one; its writes in `map` join the same view batch. */
  sublevel<S = unknown, SK extends ViewDbKey = string>(name: string, opts?: SublevelOptions): ViewDb<S, SK> {
    const level = this.level.sublevel(name, opts ?? {}) as unknown as LevelSublevel
    return new ViewDb<S, SK>(level, this.#staging, this.#changes)
  }

  #rangeRead<R>(range: ViewRangeOptions<K>, pick: (key: unknown, value: unknown) => R): ViewIterator<R> {
    // Decided synchronously, at the call, as for get.
    const batch = this.#staging.current()
    const staged = batch ? batch.stagedIn(this.level) : []
    return new ViewIterator<R>(this.level, this.#changes, staged, range as ViewRangeOptions<unknown>, pick)
  }

  async #getImpl(key: ViewDbKey, opts: EncodingOptions | undefined): Promise<V | undefined> {
    checkKey(key)
    // Decided synchronously, at the call: after an await the batch in flight may be another.
    const batch = this.#staging.current()
    if (batch) {
      const found = batch.lookup(this.level, key, opts)
      if (found.staged) return found.value as V | undefined
    }
    // A single key where the database reads synchronously (memory-level, classic-level): no
    // thread-pool or nextTick round trip per map batch (read-keys.ts reads few keys this way too).
    const level = this.level as unknown as SyncGet
    if (level.supports.getSync === true && level.status === 'open') {
      return (opts ? level.getSync(key, opts) : level.getSync(key)) as V | undefined
    }
    const value: unknown = opts ? await this.level.get(key, opts) : await this.level.get(key)
    return value as V | undefined
  }

  async #write(ops: ViewDbOperation<V>[], opts: EncodingOptions | undefined): Promise<void> {
    if (!Array.isArray(ops)) throw KappaError.invalid('batch operations must be an array')
    for (const op of ops) checkOperation(op)
    const batch = this.#staging.current()
    if (batch) {
      for (const op of ops) batch.stage(this.#operation(op, opts))
      return
    }
    const written = ops.map((op) => this.#operation(op, opts))
    await this.#changes.commit(written, () => this.level.batch(ops as LevelOperation[], opts ?? {}))
  }

  /** `op` on this sublevel, with the batch's encodings where it names none. */
  #operation(op: ViewDbOperation<V>, opts: EncodingOptions | undefined): StagedOperation {
    return {
      type: op.type,
      key: op.key,
      value: op.type === 'put' ? op.value : undefined,
      keyEncoding: op.keyEncoding ?? opts?.keyEncoding,
      valueEncoding: op.valueEncoding ?? opts?.valueEncoding,
      sublevel: this.level,
    }
  }
}

/** A staging no batch ever begins in: every call reads committed data. */
const OUTSIDE_BATCHES = new ViewStaging()

interface SyncGet {
  supports: { getSync?: boolean }
  status: string
  getSync(key: unknown, opts?: EncodingOptions): unknown
}

/** `viewDb.batch()`: collects operations; `write()` applies them like `viewDb.batch(ops)`. */
export class ViewChainedBatch<V = unknown> {
  readonly #ops: ViewDbOperation<V>[] = []
  readonly #db: { batch(ops: ViewDbOperation<V>[]): Promise<void> }

  constructor(db: { batch(ops: ViewDbOperation<V>[]): Promise<void> }) {
    this.#db = db
  }

  get length(): number {
    return this.#ops.length
  }

  put(key: ViewDbKey, value: V, opts?: EncodingOptions): this {
    this.#ops.push({ type: 'put', key, value, ...opts })
    return this
  }

  del(key: ViewDbKey, opts?: EncodingOptions): this {
    this.#ops.push({ type: 'del', key, ...opts })
    return this
  }

  clear(): this {
    this.#ops.length = 0
    return this
  }

  write(cb: Callback<void>): void
  write(): Promise<void>
  write(cb?: Callback<void>): Promise<void> | void {
    return withCallback(this.#db.batch(this.#ops.splice(0)), cb)
  }
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    throw KappaError.invalid('key must be a string or bytes')
  }
}

function checkOperation(op: unknown): void {
  if (op === null || typeof op !== 'object') throw KappaError.invalid('batch operation must be an object')
  const { type, key } = op as { type?: unknown; key?: unknown }
  if (type !== 'put' && type !== 'del')
    throw KappaError.invalid("batch operation type must be 'put' or 'del'")
  checkKey(key)
}
