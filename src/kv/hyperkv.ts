/**
 * HyperKV: a key/value store with a multi-value register over a hyperlog (hyperkv 2.1 semantics;
 * docs/DESIGN.md, "kv: HyperKV").
 *
 * Writes are hyperlog nodes holding hyperkv's JSON documents. The register — each key's current
 * heads — is an index over the log's change order (`log.createIndex`), its records committed with
 * the index position in one atomic batch. Writes without explicit links go through a queue that
 * coalesces concurrent ones into one log batch (one feed append).
 */
import { EventEmitter } from 'node:events'
import type { TypedReadable } from '../util/typed-readable.js'
import { KappaError } from '../errors.js'
import { optsAndCallback, withCallback, type Callback } from '../util/callback.js'
import {
  jsonBytesOf,
  type ChangeIndex,
  type Hyperlog,
  type LinkInput,
  type NodeHash,
  type StagedWrites,
} from '../hyperlog/index.js'
import {
  decodeDoc,
  decodeRegister,
  encodeDelDoc,
  encodeDoc,
  encodeRegister,
  encodePutDoc,
  parseDoc,
  type KvDoc,
  type KvFields,
  type OpType,
  type RegisterEntry,
} from './messages.js'
import { applyToRegister } from './register.js'
import { batchProven } from '../hyperlog/hyperlog.js'
import { WriteQueue } from './write-queue.js'
import { LruCache } from './lru-cache.js'
import { RegisterStore, type Register } from './register-store.js'
import { LocalWrites } from './local-writes.js'
import { createKvReadStream, type RegisterSource } from './read-stream.js'
import { createKvHistoryStream } from './history-stream.js'
import { openKvStorage } from './storage.js'
import {
  validateBatchRows,
  validateGetOptions,
  validateKey,
  validateReadStreamOptions,
  validateValue,
  validateWriteOptions,
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
  KvReadStreamOptions,
  KvValues,
  WriteOptions,
} from './types.js'

/** A write after validation: `links` null means "the key's current heads". */
interface IndexedOp {
  node: KvNode
  type: OpType
  key: string
  value: unknown
}

export interface WriteRow {
  type: OpType
  key: string
  value?: unknown
  fields?: KvFields
  links: NodeHash[] | null
}

/** Nodes fetched or written with explicit links stay in memory for history streams and old registers. */
const NODE_CACHE_SIZE = 16384
/** Nodes per index batch: one level batch each, so replicated nodes are indexed in large steps. */
const INDEX_BATCH = 500

/**
 * `V` types the values this app writes and reads (`hyperkv<Note>(dir)`); the store checks only that
 * they are JSON. Values from other writers arrive as they wrote them.
 */
export class HyperKV<V = unknown> extends EventEmitter<HyperKVEvents<V>> {
  readonly log: Hyperlog<unknown>
  readonly db: KvDatabase
  readonly #registers: RegisterStore
  readonly #index: ChangeIndex
  readonly #queue = new WriteQueue<WriteRow, KvNode>((rows) => this.#commit(rows))
  readonly #nodes = new LruCache<KvNode>(NODE_CACHE_SIZE)
  readonly #local = new LocalWrites()
  readonly #onPreadd = (node: { key: string | null }): void => this.#local.onPreadd(node.key)
  readonly #onAdd = (node: KvNode): void => this.#local.onAdd(node.key, node.change)
  /** Register changes after they are committed, for live read streams. */
  readonly #changes = new EventEmitter<{ change: [key: string, entries: RegisterEntry[]] }>()
  readonly #closeOwned: () => Promise<void>
  #closed = false
  #closing: Promise<void> | null = null
  /** Settles after the events of every batch indexed so far went out (never rejects). */
  #emissions: Promise<void> = Promise.resolve()
  /**
   * The registers an in-line commit read, at DAG change `asOf`, while its log batch runs: the
   * index's `map` takes them from here instead of reading them again (valid while the DAG is still
   * at `asOf`: nothing committed since, so they are the committed state).
   */
  #readAtCommit: { asOf: number; registers: Map<string, Register> } | null = null
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
    this.#logOpened.catch(() => undefined) // reported by the operations that wait for it
    this.#registers = new RegisterStore(this.db)
    this.#changes.setMaxListeners(0)
    this.log.on('preadd', this.#onPreadd)
    this.log.on('add', this.#onAdd)
    this.log.on('error', this.#onError)
    this.#index = this.log.createIndex({
      db: this.#registers.db as unknown as KvDatabase,
      name: 'kv',
      maxBatch: INDEX_BATCH,
      map: (nodes, staged) => this.#map(nodes, staged),
    })
  }

  /** Resolves once every node present locally is in the register. */
  ready(cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(() => this.#ready()),
      cb,
    )
  }

  put(key: string, value: V, cb?: Callback<KvNode>): Promise<KvNode>
  put(key: string, value: V, opts?: WriteOptions, cb?: Callback<KvNode>): Promise<KvNode>
  put(key: string, value: V, opts?: WriteOptions | Callback<KvNode>, cb?: Callback<KvNode>): Promise<KvNode> {
    const [options, callback] = optsAndCallback<WriteOptions, Callback<KvNode>>(opts, cb)
    const done = this.#whenOpen(() => {
      validateKey(key)
      validateValue(value)
      const { links, fields } = validateWriteOptions(options)
      return this.#write({ type: 'put', key, value, fields, links })
    })
    const result = withCallback(done, callback)
    // hyperkv emitted 'put' after calling back.
    done.then(
      (node) => process.nextTick(() => this.emit('put', key, value, node)),
      () => {},
    )
    return result
  }

  del(key: string, cb?: Callback<KvNode>): Promise<KvNode>
  del(key: string, opts?: WriteOptions, cb?: Callback<KvNode>): Promise<KvNode>
  del(key: string, opts?: WriteOptions | Callback<KvNode>, cb?: Callback<KvNode>): Promise<KvNode> {
    const [options, callback] = optsAndCallback<WriteOptions, Callback<KvNode>>(opts, cb)
    const done = this.#whenOpen(() => {
      validateKey(key)
      const { links, fields } = validateWriteOptions(options)
      return this.#write({ type: 'del', key, fields, links })
    })
    const result = withCallback(done, callback)
    done.then(
      (node) => process.nextTick(() => this.emit('del', key, node)),
      () => {},
    )
    return result
  }

  get(key: string, cb?: Callback<KvValues<V>>): Promise<KvValues<V>>
  get(key: string, opts: GetOptions & { fields: true }, cb?: Callback<KvDocs>): Promise<KvDocs>
  get(key: string, opts?: GetOptions & { fields?: false }, cb?: Callback<KvValues<V>>): Promise<KvValues<V>>
  get(key: string, opts?: GetOptions, cb?: Callback<KvValues<V> | KvDocs>): Promise<KvValues<V> | KvDocs>
  get(key: string, opts?: GetOptions | Callback<never>, cb?: Callback<never>): Promise<KvValues<V> | KvDocs> {
    const [options, callback] = optsAndCallback<GetOptions, Callback<never>>(opts, cb)
    const done = this.#whenOpen(async () => {
      validateKey(key)
      const { fields } = validateGetOptions(options)
      await this.#ready()
      return this.#valuesOf(await this.#registers.get(key), fields)
    })
    return withCallback(
      done as Promise<KvValues<V> | KvDocs>,
      callback as Callback<KvValues<V> | KvDocs> | undefined,
    )
  }

  /**
   * Writes every row in one log batch (all or nothing). Rows without `links` take the key's heads,
   * earlier rows of the batch included, so a key's un-linked rows form a chain. Resolves with the
   * nodes in row order, then emits `'put'`/`'del'` per row.
   */
  batch(rows: readonly BatchRow<V>[], cb?: Callback<KvNode[]>): Promise<KvNode[]>
  batch(rows: readonly BatchRow<V>[], opts?: object, cb?: Callback<KvNode[]>): Promise<KvNode[]>
  batch(
    rows: readonly BatchRow<V>[],
    opts?: object | Callback<KvNode[]>,
    cb?: Callback<KvNode[]>,
  ): Promise<KvNode[]> {
    const [, callback] = optsAndCallback(opts, cb)
    let writes: WriteRow[] = []
    const done = this.#whenOpen(() => {
      writes = validateBatchRows(rows)
      if (writes.length === 0) return Promise.resolve([])
      return this.#queue.batch(writes)
    })
    const result = withCallback(done, callback)
    done.then(
      (nodes) =>
        process.nextTick(() => {
          writes.forEach((row, i) => {
            if (row.type === 'put') this.emit('put', row.key, row.value as V, nodes[i]!)
            else this.emit('del', row.key, nodes[i]!)
          })
        }),
      () => {},
    )
    return result
  }

  /**
   * One row `{ key, links, values }` per key in key order; see KvReadStreamOptions. The rows'
   * type follows the options: `values: false` leaves `values` out, `fields: true` gives documents.
   */
  createReadStream(opts: KvReadStreamOptions & { values: false }): TypedReadable<KvKeyRow>
  createReadStream(opts: KvReadStreamOptions & { fields: true; values?: true }): TypedReadable<KvDocsRow>
  createReadStream(
    opts?: KvReadStreamOptions & { values?: true; fields?: false },
  ): TypedReadable<KvReadRow<V>>
  createReadStream(opts?: KvReadStreamOptions): TypedReadable<KvAnyReadRow<V>>
  createReadStream(opts?: KvReadStreamOptions): TypedReadable<KvAnyReadRow<V>> {
    const options = validateReadStreamOptions(opts)
    return createKvReadStream(this.#registerSource(), options) as TypedReadable<KvAnyReadRow<V>>
  }

  /** The key's history: its heads, then their ancestors (breadth first, each node once). */
  createHistoryStream(key: string, _opts?: object): TypedReadable<KvHistoryRow<V>> {
    validateKey(key)
    return createKvHistoryStream(key, {
      assertOpen: () => this.#assertOpen(),
      ready: () => this.#ready(),
      heads: async (k) => (await this.#registers.get(k)).map((entry) => entry.key as NodeHash),
      nodes: (hashes) => this.#nodesOf(hashes),
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
    this.#changes.emit('change', '', []) // wakes live streams so they notice the close
    this.#changes.removeAllListeners()
    await this.#index.close()
    this.log.off('preadd', this.#onPreadd)
    this.log.off('add', this.#onAdd)
    this.log.off('error', this.#onError)
    await this.#closeOwned()
    this.#nodes.clear()
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
      return this.log.add(row.links, this.#document(row)).then((node) => {
        this.#nodes.set(node.key, node)
        return node
      })
    }
    return this.#queue.write(row)
  }

  #document(row: WriteRow): KvDoc {
    return row.type === 'put'
      ? encodePutDoc(row.key, row.value, row.fields)
      : encodeDelDoc(row.key, row.fields)
  }

  /**
   * Commits queued rows as one log batch (one feed append). Un-linked rows take their key's heads:
   * the registers this store's recent commits lead to, else the index's — after waiting for the
   * index when it is behind on nodes this store did not write. A key's later un-linked rows link
   * its earlier rows of the batch, whose hashes are computed here with the log's own hash.
   */
  async #commit(rows: WriteRow[]): Promise<KvNode[]> {
    // In-line, the register is committed with every node the log makes visible: it is current.
    const inline = this.#index.inline
    if (!inline && this.#local.mustWait(this.#index.position)) {
      await this.#ready()
      await this.#emissions
      this.#local.caughtUp()
    }
    // Writes are what knowing the keys never written speeds up: a store only read never scans them.
    this.#registers.learnKeys()
    const keys = rows.length === 1 ? [rows[0]!.key] : new Set(rows.map((row) => row.key))
    // The DAG's change the registers below are read at (in-line, they move with it): see `proven`.
    const asOf = this.log.changes
    let registers: Map<string, Register>
    if (inline) {
      // Not cached: the index's map takes them from #readAtCommit and caches what it makes of them.
      const read = this.#registers.getMany(keys, false)
      registers = read instanceof Map ? read : await read
    } else {
      registers = new Map()
      const unpredicted: string[] = []
      for (const key of keys) {
        const predicted = this.#local.predicted(key)
        if (predicted) registers.set(key, predicted)
        else unpredicted.push(key)
      }
      const read = this.#registers.getMany(unpredicted)
      for (const [key, entries] of read instanceof Map ? read : await read) registers.set(key, entries)
    }

    // A row's own hash is needed before the append only when a later un-linked row must link it.
    const needsHash = rows.length === 1 ? null : new Array<boolean>(rows.length)
    if (needsHash) {
      const laterUnlinked = new Set<string>()
      for (let i = rows.length - 1; i >= 0; i--) {
        needsHash[i] = laterUnlinked.has(rows[i]!.key)
        if (rows[i]!.links === null) laterUnlinked.add(rows[i]!.key)
      }
    }
    // The registers before this commit (the loop below moves a key on past its earlier rows), for
    // the predictions made when the index is not in-line.
    const base = inline || !needsHash ? registers : new Map(registers)
    const docs: { links: NodeHash[]; value: KvDoc }[] = []
    // A row linking its key's heads, as the register has them at `asOf`, is a new node linking
    // visible ones: a visible node with its links and document would be a node of that key that
    // the register applied, dropping those heads. The log then need not look its hash and links
    // up. Not after an explicitly linked row of the key in this batch (it may be a node the
    // register already has, and the heads derived past it are not the register's).
    const proven = inline ? new Array<boolean>(rows.length) : null
    const explicit = proven && rows.some((row) => row.links !== null) ? new Set<string>() : null
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!
      const value = this.#document(row)
      if (proven) {
        proven[i] = row.links === null && !explicit?.has(row.key)
        if (row.links !== null) explicit?.add(row.key)
      }
      const links = row.links ?? linksOf(registers.get(row.key)!)
      if (needsHash?.[i]) {
        const hash = await this.log.hash(links, value)
        registers.set(row.key, applyToRegister(registers.get(row.key)!, { key: hash, links }, row.type))
      }
      docs.push({ links, value })
    }
    // In-line, no prediction is made: the log's announcements need not be told apart.
    let nodes: KvNode[]
    if (proven) {
      // Rows that moved a key on (needsHash) changed `registers`: then they are not the state at asOf.
      const unchanged = !needsHash?.includes(true)
      this.#readAtCommit = unchanged ? { asOf, registers } : null
      try {
        nodes = await this.log[batchProven](docs, proven, asOf)
      } finally {
        this.#readAtCommit = null
      }
    } else nodes = await this.#local.capture(() => this.log.batch(docs))
    if (inline && this.#index.inline) return nodes
    // What the index will make of these nodes, for the next writes until it has.
    const predicted = new Map<string, Register>()
    nodes.forEach((node, i) => {
      const row = rows[i]!
      this.#nodes.set(node.key, node)
      const before = predicted.get(row.key) ?? base.get(row.key)!
      const after = applyToRegister(before, node, row.type)
      predicted.set(row.key, after)
      this.#local.predict(row.key, after, node.key)
    })
    return nodes
  }

  /** The index's map: applies a batch of nodes (in change order) to the registers. */
  async #map(nodes: KvNode[], staged: StagedWrites): Promise<void> {
    const ops: IndexedOp[] = []
    // Not kept in the node cache: registers hold their heads' documents, and a cache entry per
    // indexed node was a tenth of a batch row's time.
    for (const node of nodes) {
      const doc = parseDoc(node.value)
      if (doc)
        ops.push({ node, type: doc.type, key: doc.key, value: doc.type === 'put' ? doc.value : undefined })
    }
    if (ops.length === 0) return
    // Earlier batches are committed and their registers cached (one map at a time, the cache set
    // after each commit), so cache or database hold their state — or the registers the commit
    // being indexed read, while nothing else was committed since.
    const atCommit = this.#readAtCommit?.asOf === this.log.changes ? this.#readAtCommit.registers : null
    const wanted = atCommit ? ops.filter((op) => !atCommit.has(op.key)) : ops
    const read =
      wanted.length === 0
        ? NO_REGISTERS
        : this.#registers.getMany(wanted.length === 1 ? [wanted[0]!.key] : wanted.map((op) => op.key))
    const stored = read instanceof Map ? read : await read
    /** The registers this batch changed, as it leaves them. */
    const registers = new Map<string, Register>()
    for (const op of ops) {
      const before = registers.get(op.key) ?? atCommit?.get(op.key) ?? stored.get(op.key)!
      // The head keeps its document, so `get` and read streams need no node reads: the bytes the
      // value was parsed from when the log has them, else the value stringified again.
      const doc = jsonBytesOf(op.node) ?? encodeDoc(op.node.value)
      const after = applyToRegister(before, op.node, op.type, doc)
      if (after !== before) registers.set(op.key, after)
    }
    for (const [key, entries] of registers) {
      this.#registers.willWrite(key)
      staged.put(key, encodeRegister(entries as RegisterEntry[]))
    }
    staged.afterCommit(() => {
      for (const [key, entries] of registers) this.#registers.cache(key, entries)
      this.#afterCommit(ops, registers)
    })
  }

  /**
   * Events and live rows go out once the batch is committed, so a listener reading the store sees
   * what it heard of; in change order (this runs after each commit, one batch at a time).
   */
  /** `registers`: the registers the batch changed, as it left them. */
  #afterCommit(ops: IndexedOp[], registers: Map<string, Register>): void {
    const announce = (): void => {
      for (const op of ops) {
        this.#local.onIndexed(op.key, op.node.key)
        try {
          if (op.type === 'put') this.emit('update', op.key, op.value as V, op.node)
          else this.emit('remove', op.key, op.node)
        } catch (err) {
          rethrowLater(err)
        }
      }
      // Live read streams listen here; without them the copies are waste.
      if (this.#changes.listenerCount('change') === 0) return
      for (const [key, entries] of registers) {
        try {
          this.#changes.emit('change', key, [...entries])
        } catch (err) {
          rethrowLater(err)
        }
      }
    }
    // Events queued before (an earlier batch's) go first.
    this.#emissions = this.#emissions.then(announce)
  }

  async #nodesOf(hashes: readonly string[]): Promise<KvNode[]> {
    return Promise.all(
      hashes.map((hash) => {
        const cached = this.#nodes.get(hash)
        if (cached) return cached
        return this.log.get(hash as NodeHash).then((node) => {
          this.#nodes.set(hash, node)
          return node
        })
      }),
    )
  }

  /** The heads' values: from the register itself, or (registers written before it kept documents) the nodes. */
  #valuesOf(
    entries: readonly RegisterEntry[],
    fields: boolean,
  ): KvValues | KvDocs | Promise<KvValues | KvDocs> {
    if (entries.every((entry) => entry.doc !== undefined))
      return valuesFrom(entries, (entry) => decodeDoc(entry.doc!), fields)
    return this.#nodesOf(entries.map((entry) => entry.key)).then((nodes) => {
      const docs = new Map(entries.map((entry, i) => [entry, nodes[i]!.value as KvDoc]))
      return valuesFrom(entries, (entry) => docs.get(entry)!, fields)
    })
  }

  #registerSource(): RegisterSource {
    return {
      assertOpen: () => this.#assertOpen(),
      // After the events of what is indexed went out: a live stream then neither misses a change
      // nor repeats one made before it started.
      ready: async () => {
        await this.#ready()
        await this.#emissions
      },
      isClosed: () => this.#closed,
      iterator: (range) => this.#registers.iterator(range),
      decode: decodeRegister,
      values: (entries, fields) => this.#valuesOf(entries, fields),
      subscribe: (listener) => {
        this.#changes.on('change', listener)
        return () => this.#changes.off('change', listener)
      },
    }
  }
}

function valuesFrom(
  entries: readonly RegisterEntry[],
  docOf: (entry: RegisterEntry) => KvDoc,
  fields: boolean,
): KvValues | KvDocs {
  const out: Record<string, unknown> = {}
  for (const entry of entries) {
    if (fields) out[entry.key] = docOf(entry)
    else if (entry.type === 'del') out[entry.key] = { deleted: true }
    else out[entry.key] = { value: (docOf(entry) as { v?: unknown }).v }
  }
  return out as KvValues | KvDocs
}

function linksOf(register: Register): NodeHash[] {
  if (register.length === 0) return []
  return register.map((entry) => entry.key as NodeHash)
}

/** `hyperkv({ log, db })`, `hyperkv(dir)` or `hyperkv(dir, { maxFeeds })`. */
export function hyperkv<V = unknown>(opts: HyperKVOptions | string, dirOpts?: HyperKVDirOptions): HyperKV<V> {
  return new HyperKV<V>(opts, dirOpts)
}

export type { LinkInput }

/** A listener's exception surfaces as EventEmitter's would (uncaught), without stopping the events after it. */
function rethrowLater(err: unknown): void {
  process.nextTick(() => {
    throw err
  })
}

const NO_REGISTERS: ReadonlyMap<string, Register> = new Map()
