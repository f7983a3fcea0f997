/**
 * `Hyperlog`: a Merkle DAG of content-addressed nodes (hyperlog 4.12 semantics; docs/DESIGN.md, "Hyperlog") over a
 * Kappa. Nodes live in the writers' logs (the local one is `kappa.writer('hyperlog')`); the DAG
 * index is a kappa view (dag-view.ts) that makes a node visible — change number, read streams,
 * `'add'` — once all its links are, so change order is topological on every replica.
 */
import { EventEmitter } from 'node:events'
import { unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { ClassicLevel } from 'classic-level'
import { KappaError, isKappaError } from '../errors.js'
import { MAX_ENTRY_BYTES, checkEntrySize } from '../feeds/limits.js'
import type { BlockOptions, Feed, FeedKey, ReplicationStream } from '../feeds/types.js'
import { Kappa, type LevelDb, type Members } from '../kappa/index.js'
import { optsAndCallback, withCallback, type Callback } from '../util/callback.js'
import { FreeSpace, MIN_FREE_BYTES } from '../util/storage-fault.js'
import { Anchors } from './anchors.js'
import { AddQueue, type AddRequest, type DocInput, type PreaddNode } from './add-queue.js'
import { HyperlogIndex, type ChangeIndex, type CreateIndexOptions } from './change-index.js'
import type { KnownNode } from './dag-indexer.js'
import { DAG_VIEW_VERSION, DagView } from './dag-view.js'
import { NodeHasher } from './hash.js'
import { HeadsStream } from './heads-stream.js'
import { normalizeLinks } from './links.js'
import { decodeEntry } from './messages.js'
import type { DroppedEntry } from './outbox.js'
import { sharedNode, toNode, valueDecodes } from './node.js'
import { ChangeStream } from './read-stream.js'
import { startReplication, type HyperlogReplicateOptions } from './replicate.js'
import type {
  AddOptions,
  BatchDoc,
  BatchOptions,
  BatchProof,
  GetOptions,
  HyperlogNode,
  HyperlogOptions,
  HyperlogValueEncoding,
  LinksInput,
  NodeHash,
  ReadStreamOptions,
  SignableNode,
} from './types.js'
import { encodeValue } from './value-encoding.js'
import {
  checkAddOptions,
  checkBatchDocs,
  checkBatchOptions,
  checkGetOptions,
  checkHyperlogOptions,
  checkIndexOptions,
  checkNodeHash,
  checkReadStreamOptions,
  checkStorage,
} from './validate.js'
import { emitIfListened, markHandled, safetyCatch, settled } from '../util/errors.js'

/** The kappa view name of the DAG index, and the name of the local writer. */
export const HYPERLOG_NAME = 'hyperlog'

export interface HyperlogEvents<T> {
  /** A node is about to be added (synchronously in `add`/`batch`; `key` null with `asyncHash`). */
  preadd: [node: PreaddNode]
  /** A node became visible (local or replicated), or a local add found it already there. */
  add: [node: HyperlogNode<T>]
  /** A node was refused: a missing link, a failing `sign`, or (replicated) a failing `verify`. */
  reject: [node: PreaddNode]
  error: [err: Error]
}

export type HyperlogStorage = string | { kappa: Kappa; db: LevelDb }

type NodesCallback<T> = Callback<HyperlogNode<T>[]>
type NodeCallback<T> = Callback<HyperlogNode<T>>

export class Hyperlog<T = unknown> extends EventEmitter<HyperlogEvents<T>> {
  readonly kappa: Kappa
  /** The database of the DAG index (the DAG view lives in its sublevel `hyperlog`). */
  readonly db: LevelDb
  readonly valueEncoding: HyperlogValueEncoding

  /** Who may write, in an owned database: the Kappa's `members` (null in an open one). */
  get members(): Members | null {
    return this.kappa.members
  }

  readonly #owned: boolean
  readonly #hasher: NodeHasher
  readonly #opts: HyperlogOptions
  readonly #dag: DagView
  readonly #queue: AddQueue
  /** Owned: the anchors of excluded nodes that visible ones link (anchors.ts); null when open. */
  readonly #anchors: Anchors | null
  readonly #opened: Promise<void>
  readonly #liveStreams = new Set<ChangeStream<HyperlogNode<T>>>()
  readonly #liveReplications = new Set<Duplex>()
  readonly #indexes = new Set<HyperlogIndex<T>>()
  #writer: Feed<Buffer> | null = null
  #closing: Promise<void> | null = null

  constructor(storage: HyperlogStorage, opts: HyperlogOptions = {}) {
    super()
    this.setMaxListeners(0)
    checkStorage(storage)
    checkHyperlogOptions(opts, typeof storage !== 'string')
    this.#opts = opts
    this.valueEncoding = opts.valueEncoding ?? opts.encoding ?? 'binary'
    this.#hasher = new NodeHasher(opts.hash, opts.asyncHash)
    if (typeof storage === 'string') {
      this.kappa = new Kappa(join(storage, 'logs'), {
        valueEncoding: 'binary',
        key: opts.key,
        maxFeeds: opts.maxFeeds,
        policy: opts.policy,
        membership: opts.membership,
        membershipWriter: HYPERLOG_NAME,
      })
      this.db = new ClassicLevel(join(storage, 'index'), {
        keyEncoding: 'utf8',
        // Byte values: the DAG's batches then reach LevelDB the fast way (level/level-batch.ts).
        valueEncoding: 'view',
        // LevelDB's default 4 MiB memtable fills every few thousand nodes, and the flushes and
        // compactions that follow take a core from the writes: a larger one flushes less often.
        writeBufferSize: 16 * 1024 * 1024,
      }) as unknown as LevelDb
      this.#owned = true
    } else {
      this.kappa = storage.kappa
      this.db = storage.db
      this.#owned = false
    }
    // A hidden node still resolves as a link: its entry must stay stored.
    this.kappa.multifeed.refuseDrop(
      'a hyperlog needs every stored entry (a blocked writer’s nodes still resolve as links): drop is refused',
    )
    const verify = opts.verify
    const members = this.kappa.members
    let anchors: Anchors | null = null
    this.#dag = new DagView(this.db, {
      hasher: this.#hasher,
      verify: verify ? (node) => callVerify(verify, node) : undefined,
      decodes: (node) => valueDecodes(node, this.valueEncoding),
      localFeed: () => this.#writer?.id ?? null,
      feeds: () => this.kappa.feeds(),
      counted: (feed) => this.kappa.counted(feed),
      countable: (feed) => this.kappa.countable(feed),
      countChanges: () => this.kappa.countChanges,
      onOutboxError: (err) => emitIfListened(this, 'error', err),
      onStorageFault: (err) => emitIfListened(this, 'error', err),
      space: spaceOf(storage, this.db, opts.minFreeBytes),
      reopen: this.#owned
        ? async () => {
            const db = this.db as unknown as ClassicLevel
            // A directory that cannot take a new file (read-only, full) would fail the open and
            // leave the index closed to readers too: find out first.
            const probe = join(db.location, '.kappadb-probe')
            await writeFile(probe, '')
            await unlink(probe)
            await db.close()
            await db.open()
          }
        : undefined,
      onCommit: (outcome) => {
        // A local add announced its own 'preadd'; every visible node gets its 'add' here, in change order.
        for (const node of outcome.arrived) if (node.local === undefined) this.emit('preadd', preaddOf(node))
        for (const node of outcome.visible)
          this.emit('add', sharedNode(node, node.local ?? this.valueEncoding))
        for (const node of outcome.rejected) this.emit('reject', preaddOf(node))
        if (outcome.rejected.length > 0) this.#refuseLive((outcome.malformed ?? 0) > 0)
      },
      anchoring: members ? { onDue: () => anchors?.due() } : undefined,
    })
    this.#queue = new AddQueue({
      dag: this.#dag,
      hasher: this.#hasher,
      writer: () => this.#opened.then(() => this.#writer as Feed<Buffer>),
      sign: opts.sign,
      toNode: (node, encoding) => sharedNode(node, encoding),
      emitPreadd: (node) => this.emit('preadd', node),
      emitAdd: (node) => this.emit('add', node as HyperlogNode<T>),
      emitReject: (node) => this.emit('reject', node),
    })
    if (members) {
      anchors = new Anchors({
        dag: this.#dag,
        ready: () => members.ready(),
        canWrite: () => this.#writer !== null && members.get(members.self).status === 'member',
        write: (docs) =>
          new Promise((resolve, reject) => {
            this.#queue.push({
              kind: 'docs',
              docs,
              anchors: true,
              encoding: this.valueEncoding,
              resolve: () => resolve(),
              reject,
            })
          }),
        onError: (err) => emitIfListened(this, 'error', err),
      })
    }
    this.#anchors = anchors
    this.kappa.on('error', (err, name) => {
      if (name === undefined && isKappaError(err, 'ERR_PROTOCOL')) {
        // A peer's entry the feed refused (larger than MAX_ENTRY_BYTES): no node, and the
        // replication that brought it fails as for a node whose value does not decode.
        this.#dag.commits.countMalformed()
        this.#refuseLive(true)
        emitIfListened(this, 'error', err)
        return
      }
      // The DAG view failing stops the DAG; the store's own errors (no view name) are only passed on.
      if (name === HYPERLOG_NAME) this.#dag.fail(err)
      else if (name !== undefined) return
      emitIfListened(this, 'error', err)
    })
    this.#opened = this.#open()
    markHandled(this.#opened)
  }

  /** The database key of the log's feeds: replicas replicate only with logs of the same key. */
  get key(): Buffer {
    return this.kappa.key
  }

  /** The largest change number: how many nodes are visible here. */
  get changes(): number {
    return this.#dag.changes
  }

  /**
   * Resolves once the DAG index has indexed every entry present locally now (and, owned, the
   * anchors that made due are written).
   */
  ready(cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(async () => {
        await this.#dagReady()
        await this.#anchors?.idle
      }),
      cb,
    )
  }

  /**
   * Resolves once every local node acknowledged so far is appended to the writer's feed (local
   * writes are indexed and acknowledged first, then appended in the background: see the outbox).
   */
  flush(cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(() => this.#flush()),
      cb,
    )
  }

  /** Adds one node linking to `links` (hashes or nodes; null for none). */
  add(links: LinksInput, value: T, cb?: NodeCallback<T>): Promise<HyperlogNode<T>>
  add(links: LinksInput, value: T, opts?: AddOptions, cb?: NodeCallback<T>): Promise<HyperlogNode<T>>
  add(
    links: LinksInput,
    value: T,
    opts?: AddOptions | NodeCallback<T>,
    cb?: NodeCallback<T>,
  ): Promise<HyperlogNode<T>> {
    const [options, callback] = optsAndCallback<AddOptions, NodeCallback<T>>(opts, cb)
    let done: Promise<HyperlogNode<T>>
    try {
      checkAddOptions(options)
      done = this.#submitDocs([{ links, value }], options).then((nodes) => nodes[0])
    } catch (err) {
      done = Promise.reject(err as Error)
    }
    return withCallback(done, callback)
  }

  /** Adds several nodes atomically (one log append); resolves with them in input order. */
  batch(docs: BatchDoc<T>[], cb?: NodesCallback<T>): Promise<HyperlogNode<T>[]>
  batch(docs: BatchDoc<T>[], opts?: BatchOptions, cb?: NodesCallback<T>): Promise<HyperlogNode<T>[]>
  batch(
    docs: BatchDoc<T>[],
    opts?: BatchOptions | NodesCallback<T>,
    cb?: NodesCallback<T>,
  ): Promise<HyperlogNode<T>[]> {
    const [options, callback] = optsAndCallback<BatchOptions, NodesCallback<T>>(opts, cb)
    let done: Promise<HyperlogNode<T>[]>
    try {
      checkBatchDocs(docs)
      checkBatchOptions(options, docs.length)
      done = this.#submitDocs(docs, options, options?.proof)
    } catch (err) {
      done = Promise.reject(err as Error)
    }
    return withCallback(done, callback)
  }

  /** Adds a node linking to every current head. */
  append(value: T, cb?: NodeCallback<T>): Promise<HyperlogNode<T>>
  append(value: T, opts?: AddOptions, cb?: NodeCallback<T>): Promise<HyperlogNode<T>>
  append(value: T, opts?: AddOptions | NodeCallback<T>, cb?: NodeCallback<T>): Promise<HyperlogNode<T>> {
    const [options, callback] = optsAndCallback<AddOptions, NodeCallback<T>>(opts, cb)
    return withCallback(this.#submitAppend(value, options), callback)
  }

  /** The node with this hash; `ERR_NOT_FOUND` (`notFound: true`) when it is not visible here. */
  get(key: NodeHash | string, cb?: NodeCallback<T>): Promise<HyperlogNode<T>>
  get(key: NodeHash | string, opts?: GetOptions, cb?: NodeCallback<T>): Promise<HyperlogNode<T>>
  get(
    key: NodeHash | string,
    opts?: GetOptions | NodeCallback<T>,
    cb?: NodeCallback<T>,
  ): Promise<HyperlogNode<T>> {
    const [options, callback] = optsAndCallback<GetOptions, NodeCallback<T>>(opts, cb)
    const done = this.#whenOpen(async () => {
      checkNodeHash(key)
      checkGetOptions(options)
      const [record] = await this.#dag.readRecords([key])
      // A hidden node (its entry does not count) resolves as a link, but is never shown.
      if (!record || this.#dag.isHidden(record)) throw KappaError.notFound(`node not found: ${key}`)
      return this.#toNode({ hash: key as NodeHash, record }, options?.valueEncoding)
    })
    return withCallback(done, callback)
  }

  /** The nodes no other node links to, ordered by hash: a Readable, and a Promise of the array. */
  heads(cb?: NodesCallback<T>): HeadsStream<HyperlogNode<T>>
  heads(opts?: GetOptions, cb?: NodesCallback<T>): HeadsStream<HyperlogNode<T>>
  heads(opts?: GetOptions | NodesCallback<T>, cb?: NodesCallback<T>): HeadsStream<HyperlogNode<T>> {
    const [options, callback] = optsAndCallback<GetOptions, NodesCallback<T>>(opts, cb)
    const result = this.#whenOpen(async () => {
      checkGetOptions(options)
      const hashes = [...this.#dag.commits.heads].sort()
      const records = await this.#dag.readRecords(hashes)
      const nodes: HyperlogNode<T>[] = []
      records.forEach((record, i) => {
        if (record) nodes.push(this.#toNode({ hash: hashes[i], record }, options?.valueEncoding))
      })
      return nodes
    })
    void withCallback(result, callback)
    return new HeadsStream(result)
  }

  /** Nodes in change order (topological for this replica); see ReadStreamOptions. */
  createReadStream(opts: ReadStreamOptions = {}): ChangeStream<HyperlogNode<T>> {
    if (this.#closing) throw KappaError.closed('hyperlog')
    checkReadStreamOptions(opts)
    const live = opts.live === true
    const stream = new ChangeStream<HyperlogNode<T>>(this.#dag, {
      since: opts.since ?? 0,
      until: !live && opts.until ? opts.until : Infinity,
      reverse: !live && opts.reverse === true,
      limit: opts.limit !== undefined && opts.limit >= 0 ? opts.limit : Infinity,
      live,
      tail: opts.tail === true,
      opened: this.#opened,
      toNode: (node) => this.#toNode(node, opts.valueEncoding),
    })
    if (live) {
      this.#liveStreams.add(stream)
      stream.once('close', () => this.#liveStreams.delete(stream))
    }
    return stream
  }

  /**
   * A replication stream of the log (every writer's log of the kappa). `replicate(opts)` is
   * accepted too, as hyperlog's `log.replicate({ mode, live })`.
   */
  replicate(
    isInitiator?: boolean | Duplex | HyperlogReplicateOptions,
    opts?: HyperlogReplicateOptions,
  ): ReplicationStream {
    if (this.#closing) throw KappaError.closed('hyperlog')
    const stream = startReplication(
      {
        kappa: this.kappa,
        indexed: () => this.#whenOpen(() => this.#dagReady()),
        flushed: () => this.#whenOpen(() => this.#flush()),
        verifyFailures: () => this.#dag.commits.verifyFailures,
        malformedNodes: () => this.#dag.commits.malformedNodes,
        addProcessor: (processor) => {
          this.#dag.indexer.processors.add(processor)
          return () => this.#dag.indexer.processors.delete(processor)
        },
      },
      isInitiator,
      opts,
    )
    if (stream.live) {
      this.#liveReplications.add(stream.stream)
      this.#dag.outbox.setAwaited(true)
      stream.stream.once('close', () => {
        this.#liveReplications.delete(stream.stream)
        this.#dag.outbox.setAwaited(this.#liveReplications.size > 0)
      })
    }
    return stream.stream
  }

  /**
   * Blocks the writer's feed with this key (Buffer or hex; the Kappa's `block`): its nodes are
   * hidden — `get` ERR_NOT_FOUND, read streams and change indexes skip them — but still resolve
   * as links, so nodes linking to them stay visible. Resolves once the DAG and every change index
   * hide them. `drop`: ERR_INVALID_ARGUMENT (the log needs the entries for the links).
   */
  block(key: Buffer | string, cb?: Callback<void>): Promise<void>
  block(key: Buffer | string, opts?: BlockOptions, cb?: Callback<void>): Promise<void>
  block(key: Buffer | string, opts?: BlockOptions | Callback<void>, cb?: Callback<void>): Promise<void> {
    const [options, callback] = optsAndCallback<BlockOptions, Callback<void>>(opts, cb)
    return withCallback(
      this.#whenOpen(async () => {
        await this.kappa.block(key, options)
        await this.#indexesReady()
      }),
      callback,
    )
  }

  /** Lifts a block; resolves once the DAG and every change index show the writer's nodes again. */
  unblock(key: Buffer | string, cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(async () => {
        await this.kappa.unblock(key)
        await this.#indexesReady()
      }),
      cb,
    )
  }

  /** The blocked feeds' hex keys, sorted. */
  blocked(cb?: Callback<FeedKey[]>): Promise<FeedKey[]> {
    return withCallback(
      this.#whenOpen(() => this.kappa.blocked()),
      cb,
    )
  }

  /** The key a node with these links and this value has (or would have). */
  hash(links: LinksInput, value: T, opts?: AddOptions): Promise<NodeHash> {
    try {
      checkAddOptions(opts)
      const encoding = opts?.valueEncoding ?? this.valueEncoding
      return this.#hasher.hash(normalizeLinks(links), encodeValue(value, encoding))
    } catch (err) {
      return Promise.reject(err as Error)
    }
  }

  /** An index over the change order (hyperlog-index): see CreateIndexOptions. */
  createIndex(opts: CreateIndexOptions<T>): ChangeIndex {
    if (this.#closing) throw KappaError.closed('hyperlog')
    checkIndexOptions(opts)
    const dag = this.#dag
    const index = new HyperlogIndex<T>(
      {
        get changes() {
          return dag.changes
        },
        get generation() {
          return dag.generation
        },
        opened: this.#opened,
        readChanges: (range) => dag.readChanges(range),
        onCommit: (listener) => dag.onCommit(listener),
        dagReady: () => this.ready(),
        caughtUp: () => dag.caughtUp(),
        root: dag.root,
        exclusive: (fn) => dag.lock.run(fn),
        attach: (index) => dag.attach(index),
        detach: (index) => dag.detach(index),
      },
      (node) => sharedNode<T>(node, this.valueEncoding),
      (err) => emitIfListened(this, 'error', err),
      opts,
    )
    this.#indexes.add(index)
    return index
  }

  /** Closes the log (and the kappa and database it opened itself); idempotent. */
  close(cb?: Callback<void>): Promise<void> {
    if (!this.#closing) this.#closing = this.#close()
    return withCallback(this.#closing, cb)
  }

  async #open(): Promise<void> {
    if (this.#owned) {
      try {
        await (this.db as unknown as ClassicLevel).open()
      } catch (err) {
        const locked = (err as { code?: string; cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED'
        throw new KappaError(locked ? 'ERR_LOCKED' : 'ERR_STORAGE', 'the hyperlog index cannot be opened', {
          cause: err,
        })
      }
    }
    const writer = (await this.kappa.writer(HYPERLOG_NAME)) as Feed<Buffer>
    // Acknowledged local writes a crash kept from reaching the feed go there first.
    const { dropped } = await this.#dag.replayOutbox(writer)
    for (const entry of dropped) await this.#reportDropped(entry)
    await this.#dag.load()
    this.#writer = writer
    this.kappa.use(HYPERLOG_NAME, DAG_VIEW_VERSION, this.#dag.view)
    // Anchors a crash left marked due.
    this.#anchors?.due()
  }

  /**
   * An acknowledged node too large for the log (written by a version that did not check): it stays
   * visible here, but no peer will ever get it (nor, through it, what links it).
   */
  async #reportDropped({ seq, entry }: DroppedEntry): Promise<void> {
    const node = decodeEntry(entry)
    const key = node ? await this.#hasher.hash(node.links, node.value).catch(() => null) : null
    const err = new KappaError(
      'ERR_STORAGE',
      `local node ${key ?? '(undecodable)'} (seq ${seq + 1}, ${entry.byteLength} bytes) is larger than ` +
        `MAX_ENTRY_BYTES (${MAX_ENTRY_BYTES}): it was never appended to the log and never will be; ` +
        'it stays readable here but does not replicate (an empty entry holds its seq)',
    )
    emitIfListened(this, 'error', err)
  }

  async #close(): Promise<void> {
    await settled(this.#opened)
    await this.#anchors?.stop()
    await this.#queue.idle
    this.#dag.closeWrites(KappaError.closed('hyperlog'))
    // Appended now if possible; durable in the outbox (replayed at open) either way.
    await this.#dag.outbox.flush().catch(safetyCatch)
    for (const stream of this.#liveStreams) stream.finish()
    for (const stream of this.#liveReplications) stream.destroy()
    await Promise.allSettled([...this.#indexes].map((index) => index.close()))
    if (this.#owned) {
      await this.kappa.close()
      await (this.db as unknown as ClassicLevel).close()
    }
  }

  /**
   * The DAG index has indexed every entry present now (at once when it is caught up) — or cannot
   * for now: while a storage fault stalls it, readers get what it holds instead of waiting for the
   * storage to come back.
   */
  #dagReady(): Promise<void> {
    if (this.#dag.caughtUp() || this.#dag.stalled) return Promise.resolve()
    return Promise.race([this.kappa.ready(HYPERLOG_NAME), this.#dag.whenStalled()])
  }

  /** The change indexes have built what the DAG shows now (a failed one is reported by its own `ready`). */
  async #indexesReady(): Promise<void> {
    await Promise.allSettled([...this.#indexes].map((index) => index.ready()))
  }

  #flush(): Promise<void> {
    return this.#dag.outbox.flush()
  }

  #whenOpen<R>(fn: () => Promise<R>): Promise<R> {
    if (this.#closing) return Promise.reject(KappaError.closed('hyperlog'))
    return this.#opened.then(fn)
  }

  #toNode(node: KnownNode, encoding?: HyperlogValueEncoding): HyperlogNode<T> {
    return toNode<T>(node.hash, node.record, encoding ?? this.valueEncoding)
  }

  /** Validates, encodes and announces (`'preadd'`, synchronously) the docs, then queues them. */
  /** `opts` checked by the caller. */
  #submitDocs(
    docs: BatchDoc<T>[],
    opts: AddOptions | undefined,
    proof?: BatchProof,
  ): Promise<HyperlogNode<T>[]> {
    let inputs: DocInput[]
    let encoding: HyperlogValueEncoding
    try {
      if (this.#closing) throw KappaError.closed('hyperlog')
      encoding = opts?.valueEncoding ?? this.valueEncoding
      inputs = docs.map((doc) =>
        this.#prepare(normalizeLinks(doc.links), doc.value, doc.identity, opts, encoding),
      )
    } catch (err) {
      return Promise.reject(err as Error)
    }
    if (inputs.length === 0) return Promise.resolve([])
    for (const input of inputs) this.emit('preadd', input.pre)
    return new Promise((resolve, reject) => {
      const request: AddRequest = {
        kind: 'docs',
        docs: inputs,
        encoding,
        proof,
        resolve: resolve as (nodes: HyperlogNode<unknown>[]) => void,
        reject,
      }
      this.#queue.push(request)
    })
  }

  #submitAppend(value: T, opts: AddOptions | undefined): Promise<HyperlogNode<T>> {
    let input: DocInput
    let encoding: HyperlogValueEncoding
    try {
      if (this.#closing) throw KappaError.closed('hyperlog')
      checkAddOptions(opts)
      encoding = opts?.valueEncoding ?? this.valueEncoding
      input = this.#prepare([], value, undefined, opts, encoding, false)
    } catch (err) {
      return Promise.reject(err as Error)
    }
    return new Promise<HyperlogNode<unknown>[]>((resolve, reject) => {
      this.#queue.push({ kind: 'append', doc: input, encoding, resolve, reject })
    }).then((nodes) => nodes[0] as HyperlogNode<T>)
  }

  #prepare(
    links: NodeHash[],
    value: unknown,
    identity: Buffer | undefined,
    opts: AddOptions | undefined,
    encoding: HyperlogValueEncoding,
    hashNow = true,
  ): DocInput {
    const bytes = encodeValue(value, encoding)
    // The entry holds the value and more (links, identity, signature): checked whole in the group.
    checkEntrySize(bytes.byteLength, 'a node value')
    const id = identity ?? opts?.identity ?? this.#opts.identity
    const signature = opts?.signature ? Buffer.from(opts.signature) : null
    const key = hashNow && this.#hasher.synchronous ? this.#hasher.hashSync(links, bytes) : null
    const pre: PreaddNode = {
      key,
      links,
      value: bytes,
      log: this.#writer?.id ?? null,
      identity: id ? Buffer.from(id) : null,
      signature,
    }
    return { links, value: bytes, identity: pre.identity, signature, pre }
  }

  /**
   * A replicated node failed `verify` (live replications end with `ERR_INVALID_SIGNATURE`) or its
   * value does not decode (`ERR_PROTOCOL`).
   */
  #refuseLive(malformed: boolean): void {
    for (const stream of this.#liveReplications) {
      stream.destroy(
        malformed
          ? new KappaError('ERR_PROTOCOL', 'a replicated node value does not decode')
          : new KappaError('ERR_INVALID_SIGNATURE', 'a replicated node failed verification'),
      )
    }
  }
}

/**
 * The free space the log's commits check: of its directory, or of a given database's location
 * (classic-level's); none for a database without one (memory-level).
 */
function spaceOf(storage: HyperlogStorage, db: LevelDb, floor = MIN_FREE_BYTES): FreeSpace | null {
  const location = typeof storage === 'string' ? storage : (db as { location?: unknown }).location
  return typeof location === 'string' ? new FreeSpace(location, floor) : null
}

/** `hyperlog(storage, opts)` ≡ `new Hyperlog(storage, opts)`. */
export function hyperlog<T = unknown>(storage: HyperlogStorage, opts?: HyperlogOptions): Hyperlog<T> {
  return new Hyperlog<T>(storage, opts)
}

function preaddOf(node: KnownNode): PreaddNode {
  const { entry, feed } = node.record
  return {
    key: node.hash,
    links: entry.links,
    value: entry.value,
    log: feed,
    identity: entry.identity ?? Buffer.from(feed, 'hex'),
    signature: entry.signature,
  }
}

function callVerify(verify: NonNullable<HyperlogOptions['verify']>, node: SignableNode): Promise<boolean> {
  return new Promise((resolve, reject) => {
    verify(node, (err, valid) => {
      if (err) reject(err)
      else resolve(valid === true)
    })
  })
}
