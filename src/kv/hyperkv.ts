/**
 * HyperKV: a key/value store with a multi-value register over a hyperlog (hyperkv 2.1 semantics).
 * This file is the facade; its parts:
 *  - write-queue.ts: serializes un-linked writes and coalesces concurrent ones into one commit;
 *  - write-planner.ts: turns queued rows into one log batch (links, proof, predictions);
 *  - register-index.ts: the register as an index over the log's change order (`log.createIndex`),
 *    committed with the index position in one atomic batch;
 *  - kv-events.ts: when `'put'`/`'del'`/`'update'`/`'remove'` and live changes go out;
 *  - materialise.ts: the heads' values for `get` and read streams.
 */
import { EventEmitter } from 'node:events'
import type { TypedReadable } from '../util/typed-readable.js'
import { KappaError } from '../errors.js'
import { markHandled } from '../util/errors.js'
import type { Members } from '../kappa/index.js'
import { optsAndCallback, withCallback, type Callback } from '../util/callback.js'
import type { BlockOptions, ChangeIndex, Hyperlog, LinkInput, NodeHash } from '../hyperlog/index.js'
import { decodeRegister } from './messages.js'
import { WriteQueue } from './write-queue.js'
import { RegisterStore } from './register-store.js'
import { LocalWrites } from './local-writes.js'
import { createKvReadStream, type RegisterSource } from './read-stream.js'
import { createKvHistoryStream } from './history-stream.js'
import { openKvStorage } from './storage.js'
import { KvEvents } from './kv-events.js'
import { Materialiser } from './materialise.js'
import { createRegisterIndex } from './register-index.js'
import { WritePlanner, documentOf, type WriteRow } from './write-planner.js'
import {
  checkBatchRows,
  checkGetOptions,
  checkHistoryOptions,
  checkKey,
  checkReadStreamOptions,
  checkValue,
  checkWriteOptions,
} from './validate.js'
import type {
  BatchRow,
  GetOptions,
  HyperKVEvents,
  HyperKVDirOptions,
  HyperKVOptions,
  KvDatabase,
  KvAnyReadRow,
  KvDocs,
  KvDocsRow,
  KvHistoryRow,
  KvKeyRow,
  KvNode,
  KvReadRow,
  KvReadStream,
  KvReadStreamOptions,
  KvValues,
  WriteOptions,
} from './types.js'

export type { WriteRow } from './write-planner.js'

/**
 * `V` types the values this app writes and reads (`hyperkv<Note>(dir)`); the store checks only that
 * they are JSON. Values from other writers arrive as they wrote them.
 */
export class HyperKV<V = unknown> extends EventEmitter<HyperKVEvents<V>> {
  readonly log: Hyperlog<unknown>

  /** Who may write, in an owned database: the log's `members` (null in an open one). */
  get members(): Members | null {
    return this.log.members
  }
  readonly db: KvDatabase
  readonly #registers: RegisterStore
  readonly #index: ChangeIndex
  readonly #planner: WritePlanner
  readonly #queue = new WriteQueue<WriteRow, KvNode>((rows) => this.#planner.commit(rows))
  readonly #materialiser: Materialiser
  readonly #events: KvEvents
  readonly #local = new LocalWrites()
  readonly #onPreadd = (node: { key: string | null }): void => this.#local.onPreadd(node.key)
  readonly #onAdd = (node: KvNode): void => this.#local.onAdd(node.key, node.change)
  readonly #closeOwned: () => Promise<void>
  #closed = false
  #closing: Promise<void> | null = null
  /** The log opened (rejects with its reason when it could not); `#logOpen` once it has. */
  readonly #logOpened: Promise<void>
  #logOpen = false

  constructor(opts: HyperKVOptions | string, dirOpts?: HyperKVDirOptions) {
    super()
    const storage = openKvStorage(opts, dirOpts)
    this.log = storage.log
    this.db = storage.db
    this.#closeOwned = storage.close
    this.#logOpened = this.log.ready().then(() => {
      this.#logOpen = true
    })
    markHandled(this.#logOpened) // reported by the operations that wait for it
    this.#registers = new RegisterStore(this.db)
    this.#materialiser = new Materialiser(this.log)
    this.#events = new KvEvents({
      put: (key, value, node) => this.emit('put', key, value as V, node),
      del: (key, node) => this.emit('del', key, node),
      update: (key, value, node) => this.emit('update', key, value as V, node),
      remove: (key, node) => this.emit('remove', key, node),
    })
    this.log.on('preadd', this.#onPreadd)
    this.log.on('add', this.#onAdd)
    this.log.on('error', this.#onError)
    // Rebuilt when nodes are hidden or shown again: a cached node may be one that is hidden now.
    this.#index = createRegisterIndex(this.log, this.#registers, this.#local, this.#events, () =>
      this.#materialiser.clear(),
    )
    this.#planner = new WritePlanner({
      log: this.log,
      index: this.#index,
      registers: this.#registers,
      local: this.#local,
      events: this.#events,
      materialiser: this.#materialiser,
    })
  }

  /** Resolves once every node present locally is in the register. */
  ready(cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(() => this.#ready()),
      cb,
    )
  }

  /**
   * Blocks the writer's feed with this key (Buffer or hex; the log's `block`): its puts and dels
   * are no values any more — resolves once the register is built without them. `drop`:
   * ERR_INVALID_ARGUMENT.
   */
  block(key: Buffer | string, cb?: Callback<void>): Promise<void>
  block(key: Buffer | string, opts?: BlockOptions, cb?: Callback<void>): Promise<void>
  block(key: Buffer | string, opts?: BlockOptions | Callback<void>, cb?: Callback<void>): Promise<void> {
    const [options, callback] = optsAndCallback<BlockOptions, Callback<void>>(opts, cb)
    return withCallback(
      this.#whenOpen(async () => {
        await this.log.block(key, options)
        await this.#ready()
      }),
      callback,
    )
  }

  /** Lifts a block; resolves once the register holds the writer's values again. */
  unblock(key: Buffer | string, cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(async () => {
        await this.log.unblock(key)
        await this.#ready()
      }),
      cb,
    )
  }

  /** The blocked feeds' hex keys, sorted. */
  blocked(cb?: Callback<string[]>): Promise<string[]> {
    return withCallback(
      this.#whenOpen(() => this.log.blocked()),
      cb,
    )
  }

  put(key: string, value: V, cb?: Callback<KvNode>): Promise<KvNode>
  put(key: string, value: V, opts?: WriteOptions, cb?: Callback<KvNode>): Promise<KvNode>
  put(key: string, value: V, opts?: WriteOptions | Callback<KvNode>, cb?: Callback<KvNode>): Promise<KvNode> {
    const [options, callback] = optsAndCallback<WriteOptions, Callback<KvNode>>(opts, cb)
    const done = this.#whenOpen(() => {
      checkKey(key)
      checkValue(value)
      const { links, fields } = checkWriteOptions(options)
      return this.#write({ type: 'put', key, value, fields, links }).then((node) => {
        this.#events.written('put', key, value, node)
        return node
      })
    })
    return withCallback(done, callback)
  }

  del(key: string, cb?: Callback<KvNode>): Promise<KvNode>
  del(key: string, opts?: WriteOptions, cb?: Callback<KvNode>): Promise<KvNode>
  del(key: string, opts?: WriteOptions | Callback<KvNode>, cb?: Callback<KvNode>): Promise<KvNode> {
    const [options, callback] = optsAndCallback<WriteOptions, Callback<KvNode>>(opts, cb)
    const done = this.#whenOpen(() => {
      checkKey(key)
      const { links, fields } = checkWriteOptions(options)
      return this.#write({ type: 'del', key, fields, links }).then((node) => {
        this.#events.written('del', key, undefined, node)
        return node
      })
    })
    return withCallback(done, callback)
  }

  get(key: string, cb?: Callback<KvValues<V>>): Promise<KvValues<V>>
  get(key: string, opts: GetOptions & { fields: true }, cb?: Callback<KvDocs>): Promise<KvDocs>
  get(key: string, opts?: GetOptions & { fields?: false }, cb?: Callback<KvValues<V>>): Promise<KvValues<V>>
  get(key: string, opts?: GetOptions, cb?: Callback<KvValues<V> | KvDocs>): Promise<KvValues<V> | KvDocs>
  get(key: string, opts?: GetOptions | Callback<never>, cb?: Callback<never>): Promise<KvValues<V> | KvDocs> {
    const [options, callback] = optsAndCallback<GetOptions, Callback<never>>(opts, cb)
    const done = this.#whenOpen(async () => {
      checkKey(key)
      const { fields } = checkGetOptions(options)
      await this.#ready()
      return this.#materialiser.values(await this.#registers.get(key), fields)
    })
    return withCallback(
      done as Promise<KvValues<V> | KvDocs>,
      callback as Callback<KvValues<V> | KvDocs> | undefined,
    )
  }

  /**
   * Writes every row in one log batch (all or nothing). Rows without `links` take the key's heads,
   * earlier rows of the batch included, so a key's un-linked rows form a chain. Resolves with the
   * nodes in row order; its `'put'`/`'del'` per row go out before the caller resumes.
   */
  batch(rows: readonly BatchRow<V>[], cb?: Callback<KvNode[]>): Promise<KvNode[]>
  batch(rows: readonly BatchRow<V>[], opts?: object, cb?: Callback<KvNode[]>): Promise<KvNode[]>
  batch(
    rows: readonly BatchRow<V>[],
    opts?: object | Callback<KvNode[]>,
    cb?: Callback<KvNode[]>,
  ): Promise<KvNode[]> {
    const [, callback] = optsAndCallback(opts, cb)
    const done = this.#whenOpen(async () => {
      const writes = checkBatchRows(rows)
      if (writes.length === 0) return []
      const nodes = await this.#queue.batch(writes)
      writes.forEach((row, i) => this.#events.written(row.type, row.key, row.value, nodes[i]!))
      return nodes
    })
    return withCallback(done, callback)
  }

  /**
   * One row `{ key, links, values }` per key in key order; see KvReadStreamOptions. The rows'
   * type follows the options: `values: false` leaves `values` out, `fields: true` gives documents.
   */
  createReadStream(opts: KvReadStreamOptions & { values: false }): KvReadStream<KvKeyRow>
  createReadStream(opts: KvReadStreamOptions & { fields: true; values?: true }): KvReadStream<KvDocsRow>
  createReadStream(opts?: KvReadStreamOptions & { values?: true; fields?: false }): KvReadStream<KvReadRow<V>>
  createReadStream(opts?: KvReadStreamOptions): KvReadStream<KvAnyReadRow<V>>
  createReadStream(opts?: KvReadStreamOptions): KvReadStream<KvAnyReadRow<V>> {
    const options = checkReadStreamOptions(opts)
    return createKvReadStream(this.#registerSource(), options) as KvReadStream<KvAnyReadRow<V>>
  }

  /**
   * The key's history: its heads, then their ancestors (breadth first, each node once). It takes
   * no options (hyperkv's `opts` was accepted and unused): any given is ERR_INVALID_ARGUMENT.
   */
  createHistoryStream(key: string, opts?: Record<string, never>): TypedReadable<KvHistoryRow<V>> {
    checkKey(key)
    checkHistoryOptions(opts)
    return createKvHistoryStream(key, {
      assertOpen: () => this.#assertOpen(),
      ready: () => this.#ready(),
      heads: async (k) => (await this.#registers.get(k)).map((entry) => entry.key as NodeHash),
      // A link to a hidden node (a blocked or removed writer's) is not followed.
      nodes: (hashes) => this.#materialiser.visibleNodes(hashes),
    })
  }

  /** The database key of the store's log: replicas replicate only with stores of the same key. */
  get key(): Buffer {
    return this.log.key
  }

  close(cb?: Callback<void>): Promise<void> {
    this.#closing ??= this.#close()
    return withCallback(this.#closing, cb)
  }

  async #close(): Promise<void> {
    this.#closed = true
    await this.#queue.idle()
    this.#events.close()
    await this.#index.close()
    this.log.off('preadd', this.#onPreadd)
    this.log.off('add', this.#onAdd)
    this.log.off('error', this.#onError)
    await this.#closeOwned()
    this.#materialiser.clear()
    this.#registers.clearCache()
  }

  /** The log's failures reach kv's listeners; never a crash when nobody listens. */
  readonly #onError = (err: Error): void => {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  #assertOpen(): void {
    if (this.#closed) throw KappaError.closed('hyperkv')
  }

  /**
   * Runs `fn` unless closed, once the log is open; argument errors thrown by `fn` become a
   * rejection. The log reports why it could not open (a directory held by another store:
   * ERR_LOCKED), where the register's database would only say it is not open.
   */
  #whenOpen<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.#assertOpen()
      if (this.#logOpen) return fn()
    } catch (err) {
      return Promise.reject(err as Error)
    }
    return this.#logOpened.then(() => {
      this.#assertOpen()
      return fn()
    })
  }

  #ready(): Promise<void> {
    return this.#index.ready()
  }

  #write(row: WriteRow): Promise<KvNode> {
    // Explicit links need no heads: straight to the log, as hyperkv did (no lock, no index wait).
    // Its node is not this queue's, so the next un-linked write waits for the index to see it.
    if (row.links !== null) {
      return this.log.add(row.links, documentOf(row)).then((node) => {
        this.#materialiser.remember(node)
        return node
      })
    }
    return this.#queue.write(row)
  }

  #registerSource(): RegisterSource {
    return {
      assertOpen: () => this.#assertOpen(),
      // After the events of what is indexed went out: a live stream then neither misses a change
      // nor repeats one made before it started.
      ready: async () => {
        await this.#ready()
        await this.#events.emitted
      },
      isClosed: () => this.#closed,
      iterator: (range) => this.#registers.iterator(range),
      decode: decodeRegister,
      values: (entries, fields) => this.#materialiser.values(entries, fields),
      subscribe: (listener) => this.#events.subscribe(listener),
    }
  }
}

/** `hyperkv({ log, db })`, `hyperkv(dir)` or `hyperkv(dir, { key, maxFeeds })`. */
export function hyperkv<V = unknown>(opts: HyperKVOptions | string, dirOpts?: HyperKVDirOptions): HyperKV<V> {
  return new HyperKV<V>(opts, dirOpts)
}

export type { LinkInput }
