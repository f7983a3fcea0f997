/**
 * HyperKV: a key/value store with a multi-value register over a hyperlog (hyperkv 2.1 semantics,
 * CONTRACT §4).
 *
 * Writes are hyperlog nodes holding hyperkv's JSON documents. The register — each key's current
 * heads — is an index over the log's change order (`log.createIndex`), its records committed with
 * the index position in one atomic batch. Writes without explicit links go through a queue that
 * coalesces concurrent ones into one log batch (one feed append).
 */
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type { AbstractSublevel } from 'abstract-level'
import { KappaError, isKappaError } from '../errors.js'
import { optsAndCallback, withCallback, type Callback } from '../util/callback.js'
import type { ChangeIndex, Hyperlog, LinkInput, NodeHash, StagedWrites } from '../hyperlog/index.js'
import {
  decodeRegister,
  encodeDelDoc,
  encodePutDoc,
  encodeRegister,
  parseDoc,
  type KvDoc,
  type KvFields,
  type OpType,
  type RegisterEntry,
} from './messages.js'
import { applyToRegister } from './register.js'
import { WriteQueue } from './write-queue.js'
import { NodeCache } from './node-cache.js'
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
  HyperKVOptions,
  KvDatabase,
  KvDocs,
  KvNode,
  KvReadStreamOptions,
  KvValues,
  WriteOptions,
} from './types.js'

/** A write after validation: `links` null means "the key's current heads". */
export interface WriteRow {
  type: OpType
  key: string
  value?: unknown
  fields?: KvFields
  links: NodeHash[] | null
}

type RegisterDb = AbstractSublevel<KvDatabase, unknown, string, Uint8Array>

/** Nodes read most recently (written, indexed or fetched) stay in memory for `get` and streams. */
const NODE_CACHE_SIZE = 16384
/** Nodes per index batch: one level batch each, so replicated nodes are indexed in large steps. */
const INDEX_BATCH = 500

export class HyperKV extends EventEmitter<HyperKVEvents> {
  readonly log: Hyperlog<unknown>
  readonly db: KvDatabase
  readonly #registers: RegisterDb
  readonly #index: ChangeIndex
  readonly #queue = new WriteQueue<WriteRow, KvNode>((rows) => this.#commit(rows))
  readonly #nodes = new NodeCache<KvNode>(NODE_CACHE_SIZE)
  /** Register changes after they are committed, for live read streams. */
  readonly #changes = new EventEmitter<{ change: [key: string, entries: RegisterEntry[]] }>()
  readonly #closeOwned: () => Promise<void>
  #closed = false
  #closing: Promise<void> | null = null
  /** Settles after the events of every batch indexed so far went out (never rejects). */
  #emissions: Promise<void> = Promise.resolve()

  constructor(opts: HyperKVOptions | string) {
    super()
    const storage = openKvStorage(opts)
    this.log = storage.log
    this.db = storage.db
    this.#closeOwned = storage.close
    this.#registers = this.db.sublevel<string, Uint8Array>('x', { valueEncoding: 'view' })
    this.#changes.setMaxListeners(0)
    this.#index = this.log.createIndex({
      db: this.#registers as unknown as KvDatabase,
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

  put(key: string, value: unknown, cb?: Callback<KvNode>): Promise<KvNode>
  put(key: string, value: unknown, opts?: WriteOptions, cb?: Callback<KvNode>): Promise<KvNode>
  put(
    key: string,
    value: unknown,
    opts?: WriteOptions | Callback<KvNode>,
    cb?: Callback<KvNode>,
  ): Promise<KvNode> {
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

  get(key: string, cb?: Callback<KvValues>): Promise<KvValues>
  get(key: string, opts: GetOptions & { fields: true }, cb?: Callback<KvDocs>): Promise<KvDocs>
  get(key: string, opts?: GetOptions, cb?: Callback<KvValues>): Promise<KvValues>
  get(key: string, opts?: GetOptions | Callback<never>, cb?: Callback<never>): Promise<KvValues | KvDocs> {
    const [options, callback] = optsAndCallback<GetOptions, Callback<never>>(opts, cb)
    const done = this.#whenOpen(async () => {
      validateKey(key)
      const { fields } = validateGetOptions(options)
      await this.#ready()
      return this.#valuesOf(await this.#readRegister(key), fields)
    })
    return withCallback(done, callback as Callback<KvValues | KvDocs> | undefined)
  }

  /**
   * Writes every row in one log batch (all or nothing). Rows without `links` take the key's heads,
   * earlier rows of the batch included, so a key's un-linked rows form a chain. Resolves with the
   * nodes in row order, then emits `'put'`/`'del'` per row.
   */
  batch(rows: readonly BatchRow[], cb?: Callback<KvNode[]>): Promise<KvNode[]>
  batch(rows: readonly BatchRow[], opts?: object, cb?: Callback<KvNode[]>): Promise<KvNode[]>
  batch(
    rows: readonly BatchRow[],
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
            if (row.type === 'put') this.emit('put', row.key, row.value, nodes[i]!)
            else this.emit('del', row.key, nodes[i]!)
          })
        }),
      () => {},
    )
    return result
  }

  /** One row `{ key, links, values? }` per key in key order; see KvReadStreamOptions. */
  createReadStream(opts?: KvReadStreamOptions): Readable {
    const options = validateReadStreamOptions(opts)
    return createKvReadStream(this.#registerSource(), options)
  }

  /** The key's history: its heads, then their ancestors (breadth first, each node once). */
  createHistoryStream(key: string, _opts?: object): Readable {
    validateKey(key)
    return createKvHistoryStream(key, {
      assertOpen: () => this.#assertOpen(),
      ready: () => this.#ready(),
      heads: async (k) => (await this.#readRegister(k)).map((entry) => entry.key as NodeHash),
      nodes: (hashes) => this.#nodesOf(hashes),
    })
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
    await this.#closeOwned()
    this.#nodes.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw KappaError.closed('hyperkv')
  }

  /** Runs `fn` unless closed; argument errors thrown by `fn` become a rejection. */
  #whenOpen<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.#assertOpen()
      return fn()
    } catch (err) {
      return Promise.reject(err as Error)
    }
  }

  #ready(): Promise<void> {
    return this.#index.ready()
  }

  #write(row: WriteRow): Promise<KvNode> {
    // Explicit links need no heads: straight to the log, as hyperkv did (no lock, no index wait).
    if (row.links !== null) return this.#commit([row]).then((nodes) => nodes[0]!)
    return this.#queue.write(row)
  }

  /**
   * Commits rows as one log batch. Un-linked rows take their key's heads as of now (the index is
   * caught up first); a key's later un-linked rows link the earlier rows of this batch, whose
   * hashes are computed here with the log's own hash.
   */
  async #commit(rows: WriteRow[]): Promise<KvNode[]> {
    const unlinked = new Set<string>()
    for (const row of rows) if (row.links === null) unlinked.add(row.key)
    const registers = new Map<string, readonly RegisterEntry[]>()
    if (unlinked.size > 0) {
      await this.#ready()
      const keys = [...unlinked]
      const stored = await this.#registers.getMany(keys)
      keys.forEach((key, i) => registers.set(key, stored[i] ? decodeRegister(stored[i]) : []))
    }
    // A row's own hash is only needed when a later un-linked row of its key must link to it.
    const needsHash = new Array<boolean>(rows.length)
    const laterUnlinked = new Set<string>()
    for (let i = rows.length - 1; i >= 0; i--) {
      needsHash[i] = laterUnlinked.has(rows[i]!.key)
      if (rows[i]!.links === null) laterUnlinked.add(rows[i]!.key)
    }
    const docs: { links: NodeHash[]; value: KvDoc }[] = []
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!
      const value =
        row.type === 'put' ? encodePutDoc(row.key, row.value, row.fields) : encodeDelDoc(row.key, row.fields)
      const links = row.links ?? registers.get(row.key)!.map((entry) => entry.key as NodeHash)
      if (needsHash[i]) {
        const hash = await this.log.hash(links, value)
        registers.set(row.key, applyToRegister(registers.get(row.key)!, { key: hash, links }, row.type))
      }
      docs.push({ links, value })
    }
    const nodes = await this.log.batch(docs)
    for (const node of nodes) this.#nodes.set(node.key, node)
    return nodes
  }

  /** The index's map: applies a batch of nodes (in change order) to the registers. */
  async #map(nodes: KvNode[], staged: StagedWrites): Promise<void> {
    const ops: { node: KvNode; type: OpType; key: string; value: unknown }[] = []
    for (const node of nodes) {
      this.#nodes.set(node.key, node)
      const doc = parseDoc(node.value)
      if (doc)
        ops.push({ node, type: doc.type, key: doc.key, value: doc.type === 'put' ? doc.value : undefined })
    }
    if (ops.length === 0) return
    const registers = new Map<string, readonly RegisterEntry[]>()
    await Promise.all(
      [...new Set(ops.map((op) => op.key))].map(async (key) => {
        const stored = (await staged.get(key)) as Uint8Array | undefined
        registers.set(key, stored ? decodeRegister(stored) : [])
      }),
    )
    const changed = new Set<string>()
    for (const op of ops) {
      const before = registers.get(op.key)!
      const after = applyToRegister(before, { key: op.node.key, links: op.node.links }, op.type)
      if (after !== before) {
        registers.set(op.key, after)
        changed.add(op.key)
      }
    }
    for (const key of changed) staged.put(key, encodeRegister([...registers.get(key)!]))
    this.#afterCommit(ops, changed, registers)
  }

  /**
   * Events and live rows go out once the batch is committed (the index is ready past it), so a
   * listener reading the store sees what it heard of; chained, so they keep the change order.
   */
  #afterCommit(
    ops: { node: KvNode; type: OpType; key: string; value: unknown }[],
    changed: Set<string>,
    registers: Map<string, readonly RegisterEntry[]>,
  ): void {
    const committed = this.#index.ready()
    this.#emissions = Promise.all([this.#emissions, committed]).then(
      () => {
        for (const op of ops) {
          if (op.type === 'put') this.emit('update', op.key, op.value, op.node)
          else this.emit('remove', op.key, op.node)
        }
        for (const key of changed) this.#changes.emit('change', key, [...registers.get(key)!])
      },
      (err: unknown) => {
        if (!isKappaError(err, 'ERR_CLOSED')) this.#emitError(err)
      },
    )
  }

  #emitError(err: unknown): void {
    // Never crash the process when nobody listens (hyperkv users often don't).
    if (this.listenerCount('error') > 0)
      this.emit('error', err instanceof Error ? err : new Error(String(err)))
  }

  async #readRegister(key: string): Promise<RegisterEntry[]> {
    const stored = await this.#registers.get(key)
    return stored ? decodeRegister(stored) : []
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

  async #valuesOf(entries: readonly RegisterEntry[], fields: boolean): Promise<KvValues | KvDocs> {
    const out: Record<string, unknown> = {}
    if (entries.length === 0) return out as KvValues
    const nodes = await this.#nodesOf(entries.map((entry) => entry.key))
    entries.forEach((entry, i) => {
      const value = nodes[i]!.value as KvDoc
      if (fields) out[entry.key] = value
      else if (entry.type === 'del') out[entry.key] = { deleted: true }
      else out[entry.key] = { value: (value as { v?: unknown }).v }
    })
    return out as KvValues | KvDocs
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

/** `hyperkv({ log, db })` or `hyperkv(dir)`. */
export function hyperkv(opts: HyperKVOptions | string): HyperKV {
  return new HyperKV(opts)
}

export type { LinkInput }
