/**
 * `Multifeed`: a database's set of signed logs (one Hypercore per writer) in a Corestore, with
 * named local writers, remote feeds learned from peers, and replication (replication.ts). Feeds
 * are lazy: the store opens from its feed index (feed-list.ts) alone, and a feed's core opens only
 * to read, write or move blocks, and closes once idle.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { CompatManifest, HypercorePeer } from 'hypercore'
import { KappaError } from '../errors.js'
import { withCallback, type Callback } from '../util/callback.js'
import { optionNames, rejectUnknownOptions } from '../util/options.js'
import { namespaceOf, toDatabaseKey, toFeedKey } from './database-key.js'
import { HypercoreFeed, type CoreLease, type FeedHost } from './feed.js'
import { FeedList } from './feed-list.js'
import { emptyFeedState, type BlockRecord, type FeedState, type SparseStart } from './messages.js'
import {
  closeStore,
  createStore,
  isCorestore,
  readyStore,
  storeError,
  type StoreHandle,
} from './open-store.js'
import { Replicator } from './replication/replicator.js'
import type { ReplicationSession } from './replication/session.js'
import type {
  BlockOptions,
  Codec,
  CorestoreLike,
  Feed,
  FeedGate,
  FeedKey,
  KeyPair,
  MultifeedEvents,
  ReplicateOptions,
  ReplicationPolicy,
  ReplicationStream,
  ValueEncoding,
} from './types.js'
import type { Inclusion } from '../membership/types.js'
import { internalCoreKey, type ConflictChecking } from './dependency-internals.js'
import { guardCore, guardForks } from './replication/trees.js'
import { DownloadRoom } from './replication/download-room.js'
import { MIN_FREE_BYTES } from '../util/storage-fault.js'
import { toCodec } from './value-encoding.js'
import { safetyCatch, settled } from '../util/errors.js'

export interface MultifeedOptions {
  valueEncoding?: ValueEncoding
  /** The database key: 32 bytes or 64 hex characters. Peers replicate only when theirs match. */
  encryptionKey?: Buffer | string
  /** Alias of `encryptionKey`. */
  key?: Buffer | string
  /**
   * The most feeds this store holds, local and remote (default 100,000). A new writer beyond it
   * rejects, and a replication whose peer offers more fails, with ERR_LIMIT.
   */
  maxFeeds?: number
  /** A feed's core that nothing has used for this long (ms, default 2,000) is closed. */
  coreIdleTime?: number
  /**
   * Local appends and replicated downloads need this many bytes free on the store's file system
   * (default `MIN_FREE_BYTES`, 64 MiB; 0: no floor): short of it appends fail and downloads stop
   * with `ERR_STORAGE` (`ENOSPC`).
   */
  minFreeBytes?: number
  /**
   * Defaults of `replicate`'s `share` and `accept` hooks, used by every replication that gives
   * none (`join()` included).
   */
  policy?: ReplicationPolicy
}

/** `setGate(gate, opts)`. */
export interface GateOptions {
  /** Replications send their first offers once this settles. */
  ready?: Promise<unknown>
  /** Awaited by a non-live replication before it takes again the offers its gate refused. */
  settle?: () => Promise<void>
}

export interface WriterOptions {
  /** Use this ed25519 key pair instead of one derived from the name. */
  keyPair?: KeyPair
}

const MULTIFEED_OPTIONS: ReadonlySet<string> = optionNames<MultifeedOptions>({
  valueEncoding: true,
  encryptionKey: true,
  key: true,
  maxFeeds: true,
  coreIdleTime: true,
  minFreeBytes: true,
  policy: true,
})
const WRITER_OPTIONS: ReadonlySet<string> = optionNames<WriterOptions>({ keyPair: true })

/** The name `writer()` uses when none is given. */
export const DEFAULT_WRITER_NAME = 'default'
/** The default of `maxFeeds`. */
export const DEFAULT_MAX_FEEDS = 100_000
/** The default of `coreIdleTime`. */
export const DEFAULT_CORE_IDLE_TIME = 2000
/** Feeds whose state is read from their cores at open (they were open when the process ended), at once. */
const RECOVER_CONCURRENCY = 16
/** Remote cores: a wider request window than Hypercore's default keeps a big core's download busy. */
const REMOTE_INFLIGHT_RANGE: [number, number] = [64, 256]

export class Multifeed<T = unknown> extends EventEmitter<MultifeedEvents<T>> {
  /** The database key (the well-known open key when none was given). */
  readonly key: Buffer
  /** The most feeds this store holds. */
  readonly maxFeeds: number
  /** The `share` / `accept` defaults of every replication (`opts.policy`). */
  readonly policy: Readonly<ReplicationPolicy>
  /** @internal Every download of this store, held to the free-space floor of its local writes. */
  readonly downloadRoom: DownloadRoom
  readonly #codec: Codec<T>
  readonly #store: StoreHandle
  readonly #list: FeedList
  readonly #replicator: Replicator<T>
  readonly #ordered: HypercoreFeed<T>[] = []
  readonly #byId = new Map<string, HypercoreFeed<T>>()
  readonly #byName = new Map<string, HypercoreFeed<T>>()
  /** Feeds being created or opened, by `name:<name>` or `key:<hex>`, so concurrent calls share one. */
  readonly #pending = new Map<string, Promise<HypercoreFeed<T>>>()
  /** Feeds being admitted or created: they count against maxFeeds before they are listed. */
  #reserved = 0
  /** Feeds whose fork was reported: each is reported once. */
  readonly #forksReported = new Set<string>()
  /** Multifeeds sharing this one's Corestore (`sibling`): closed before it. */
  readonly #siblings: Multifeed<unknown>[] = []
  readonly #feedHost: FeedHost
  /** Blocked feeds by hex key (loaded at open; `block`/`unblock`). */
  readonly #blockedKeys = new Map<string, BlockRecord>()
  /** Block changes run one at a time, in call order. */
  #blocking: Promise<unknown> = Promise.resolve()
  /** Why `block(key, { drop: true })` is refused here (`refuseDrop`), or null: drop is allowed. */
  #dropRefusal: string | null = null
  /** The layer above's answer of how much of each feed is taken and served (`setGate`). */
  #gate: FeedGate | null = null
  #gateReady: Promise<void> = Promise.resolve()
  #gateSettle: (() => Promise<void>) | null = null
  /** Feeds by hex discovery key, built when a peer first asks for a core by it. */
  #byDiscoveryKey: Map<string, HypercoreFeed<T>> | null = null
  /** Guards every core the store opens, also those Corestore opens for a peer by itself. */
  readonly #onCore = (core: unknown): void => guardCore(core, (internal) => this.#sessionOn(internal))
  #opening: Promise<void> | null = null
  #closing: Promise<void> | null = null
  #closed = false

  constructor(storage: string | CorestoreLike, opts: MultifeedOptions = {}) {
    super()
    if (typeof storage !== 'string' && !isCorestore(storage)) {
      throw KappaError.invalid('storage must be a directory path or a Corestore')
    }
    if (typeof storage === 'string' && storage.length === 0) throw KappaError.invalid('storage path is empty')
    if (opts === null || typeof opts !== 'object') throw KappaError.invalid('opts must be an object')
    rejectUnknownOptions(opts, MULTIFEED_OPTIONS, 'multifeed options')
    if (
      opts.encryptionKey !== undefined &&
      opts.key !== undefined &&
      !sameKey(opts.encryptionKey, opts.key)
    ) {
      throw KappaError.invalid('encryptionKey and key differ')
    }
    this.key = toDatabaseKey(opts.encryptionKey ?? opts.key)
    this.maxFeeds = checkMaxFeeds(opts.maxFeeds)
    this.policy = checkPolicy(opts.policy)
    this.#codec = toCodec<T>(opts.valueEncoding)
    this.#store = createStore(storage as string | Corestore, namespaceOf(this.key))
    this.#list = new FeedList(this.#store.ns)
    this.#replicator = new Replicator<T>(this, this.#store.root)
    const idleTime = checkIdleTime(opts.coreIdleTime)
    const minFreeBytes = checkMinFreeBytes(opts.minFreeBytes)
    this.downloadRoom = new DownloadRoom(minFreeBytes)
    this.#feedHost = {
      idleTime,
      minFreeBytes,
      openCore: (key, writable, active = true) =>
        this.#store.ns.get(
          writable ? { key, active } : { key, active, inflightRange: REMOTE_INFLIGHT_RANGE },
        ),
      persist: (ordinal, record) => this.#list.put(ordinal, record),
      coreOpened: (core) => this.#coreOpened(core),
      checkNotBlocked: (key) => this.#checkNotBlocked(key),
    }
    this.#store.ns.watch(this.#onCore)
  }

  /** True once `close()` has finished. */
  get closed(): boolean {
    return this.#closed
  }

  /** Opens the store and loads every known feed (also done lazily by every method). */
  ready(cb?: Callback<void>): Promise<void> {
    return withCallback(this.open(), cb)
  }

  /**
   * The local writable feed called `name` (default `'default'`), created when missing.
   * Forms: `writer()`, `writer(cb)`, `writer(name, cb)`, `writer(name, opts, cb)`.
   */
  writer(
    name?: string | Callback<Feed<T>>,
    opts?: WriterOptions | Callback<Feed<T>>,
    cb?: Callback<Feed<T>>,
  ): Promise<Feed<T>> {
    if (typeof name === 'function') return this.writer(undefined, undefined, name)
    if (typeof opts === 'function') return this.writer(name, undefined, opts)
    try {
      const writerName = name === undefined ? DEFAULT_WRITER_NAME : name
      if (typeof writerName !== 'string' || writerName.length === 0) {
        throw KappaError.invalid('writer name must be a non-empty string')
      }
      const keyPair = checkWriterOptions(opts)
      return withCallback(this.#openWriter(writerName, keyPair), cb)
    } catch (err) {
      return withCallback(Promise.reject(err as Error), cb)
    }
  }

  /** The feed with this key (Buffer or hex), local or remote, or undefined. */
  feed(key: Buffer | string): Feed<T> | undefined {
    return this.#byId.get(toFeedKey(key).toString('hex'))
  }

  /** Every feed, local and remote, in the order first added (the same after reopening). */
  feeds(): Feed<T>[] {
    return this.#ordered.slice()
  }

  /**
   * Blocks the feed with this key (Buffer or hex) in this store, persisted locally and never
   * replicated: it is not downloaded further, not served and not offered to any peer (live streams
   * included), and stays in `feeds()`. A key never seen may be blocked in advance. `opts.drop`
   * also frees its stored blocks. Resolves once the block is stored; `'block'` fires then (not for
   * a key already blocked). One of this store's own writers: ERR_INVALID_ARGUMENT.
   */
  block(key: Buffer | string, opts?: BlockOptions | Callback<void>, cb?: Callback<void>): Promise<void> {
    if (typeof opts === 'function') return this.block(key, undefined, opts)
    try {
      const feedKey = toFeedKey(key)
      const drop = checkBlockOptions(opts)
      if (drop && this.#dropRefusal !== null) throw KappaError.invalid(this.#dropRefusal)
      return withCallback(
        this.#serialBlock(() => this.#blockNow(feedKey, drop)),
        cb,
      )
    } catch (err) {
      return withCallback(Promise.reject(err as Error), cb)
    }
  }

  /** Lifts a block: the feed replicates again (`'unblock'` fires; a key not blocked: nothing changes). */
  unblock(key: Buffer | string, cb?: Callback<void>): Promise<void> {
    try {
      const feedKey = toFeedKey(key)
      return withCallback(
        this.#serialBlock(() => this.#unblockNow(feedKey)),
        cb,
      )
    } catch (err) {
      return withCallback(Promise.reject(err as Error), cb)
    }
  }

  /** The blocked feeds' hex keys, sorted. */
  blocked(cb?: Callback<FeedKey[]>): Promise<FeedKey[]> {
    return withCallback(
      this.#serialBlock(async () => [...this.#blockedKeys.keys()].sort() as FeedKey[]),
      cb,
    )
  }

  /** Whether the feed with this key is blocked (synchronous; false before the store is open). */
  isBlocked(key: Buffer | string): boolean {
    // The replicator asks with hex ids of feeds it holds: no conversion for those.
    if (typeof key === 'string' && this.#byId.has(key)) return this.#blockedKeys.has(key)
    return this.#blockedKeys.has(toFeedKey(key).toString('hex'))
  }

  /**
   * From now on `block(key, { drop: true })` rejects with ERR_INVALID_ARGUMENT and `reason` as its
   * message: for an upper layer that needs every stored block (a hyperlog's nodes resolve as links).
   */
  refuseDrop(reason: string): void {
    if (typeof reason !== 'string' || reason.length === 0) {
      throw KappaError.invalid('reason must be a non-empty string')
    }
    this.#dropRefusal = reason
  }

  /**
   * Sets the gate (null: none), the layer above's rule of how much of each feed this store takes
   * and serves: `none` (never accepted, offered or served), a `prefix` of entries (downloaded and
   * offered only below it), or `all`. Open connections follow it once `gateChanged()` is called.
   * `opts.ready`: replications send their first offers only once it settles (the gate knows its
   * answers then). `opts.settle`: a non-live replication that refused offers awaits it once it has
   * downloaded what it took, then takes those the gate now allows (what it downloaded may have
   * changed the answers), until none is new.
   */
  setGate(gate: FeedGate | null, opts: GateOptions = {}): void {
    if (gate !== null && typeof gate !== 'function')
      throw KappaError.invalid('gate must be a function or null')
    if (opts === null || typeof opts !== 'object') throw KappaError.invalid('gate opts must be an object')
    const { ready, settle } = opts
    if (ready !== undefined && !(ready instanceof Promise))
      throw KappaError.invalid('ready must be a Promise')
    if (settle !== undefined && typeof settle !== 'function')
      throw KappaError.invalid('settle must be a function')
    this.#gate = gate
    this.#gateReady = ready ? ready.then(noop, noop) : Promise.resolve()
    this.#gateSettle = settle ?? null
    this.gateChanged()
  }

  /**
   * The gate's answers may have changed: every connection asks again, stops downloading and
   * serving what it no longer may, and offers and takes what it now may.
   */
  gateChanged(): void {
    this.#replicator.policyChanged(null)
  }

  /** The gate's answer for the feed with this hex key (`all` without a gate; a throwing gate: `none`). */
  inclusion(id: string): Inclusion {
    if (this.#gate === null) return INCLUDE_ALL
    try {
      const answer = this.#gate(id as FeedKey)
      if (answer && (answer.state === 'all' || answer.state === 'none')) return answer
      if (answer && answer.state === 'prefix' && Number.isSafeInteger(answer.length) && answer.length >= 0) {
        return answer
      }
    } catch {
      // a gate that throws takes nothing
    }
    return INCLUDE_NONE
  }

  /**
   * A replication stream to pipe to the other side's. `isInitiator`: true/false for the Noise
   * roles, omitted to negotiate them, or an existing Duplex (e.g. a socket) to run over. Given an
   * encrypted connection (a Hyperswarm connection) the replication runs on the connection's own
   * Noise stream and muxer: the stream returned carries no bytes and must not be piped; it reports
   * on the replication (`finished()`, its events, `replicationStats`), and `stream.connection` is
   * the connection.
   */
  replicate(isInitiator?: boolean | Duplex, opts: ReplicateOptions = {}): ReplicationStream {
    const alongside = opts !== null && typeof opts === 'object' ? opts.alongside : undefined
    if (alongside !== undefined) {
      if (!Array.isArray(alongside))
        throw KappaError.invalid('alongside must be an array of sibling Multifeeds')
      for (const sibling of alongside) {
        if (!this.#siblings.includes(sibling as Multifeed<unknown>)) {
          throw KappaError.invalid('alongside takes only Multifeeds made with this one’s sibling()')
        }
      }
    }
    const stream = this.#replicator.replicate(isInitiator, opts)
    const primary = this.#replicator.sessionOf(stream)
    if (primary) {
      for (const sibling of (alongside ?? []) as Multifeed<unknown>[])
        sibling.replicateAlongside(primary, opts)
    }
    return stream
  }

  /** @internal A secondary session of this Multifeed on `primary`'s connection (`alongside`). */
  replicateAlongside(primary: ReplicationSession<unknown>, opts: ReplicateOptions): void {
    this.#replicator.secondary(primary, opts)
  }

  /**
   * Another set of logs in this Multifeed's Corestore, in the namespace of `opts.key`, with its own
   * value encoding and feed list; it closes when this one does (before the store).
   */
  sibling<U>(opts: MultifeedOptions): Multifeed<U> {
    if (this.#closing) throw KappaError.closed('multifeed')
    const sibling = new Multifeed<U>(this.#store.root, opts)
    this.#siblings.push(sibling as Multifeed<unknown>)
    return sibling
  }

  /** Ends replication, closes every feed and the store (a given Corestore stays open). */
  close(cb?: Callback<void>): Promise<void> {
    if (!this.#closing) this.#closing = this.#closeNow()
    return withCallback(this.#closing, cb)
  }

  // ---- internals used by the replicator -------------------------------------------------------

  /** @internal Resolves once the store is open; rejects with ERR_CLOSED once closing started. */
  open(): Promise<void> {
    if (this.#closing) return Promise.reject(KappaError.closed('multifeed'))
    if (!this.#opening) this.#opening = this.#openNow()
    return this.#opening
  }

  /** @internal */
  get isClosing(): boolean {
    return this.#closing !== null
  }

  /**
   * @internal A session on the core of a feed we do not hold yet (a peer offered it), for the replication
   * to prove it: not listed, not announced, until `admit`. ERR_LIMIT when the store is full.
   */
  async openCandidate(key: Buffer): Promise<Hypercore> {
    this.#checkRoom()
    if (this.#closing) throw KappaError.closed('multifeed')
    const core = this.#store.ns.get({ key, inflightRange: REMOTE_INFLIGHT_RANGE })
    try {
      await core.ready()
    } catch (err) {
      await core.close().catch(safetyCatch)
      throw this.#closing ? KappaError.closed('multifeed') : storeError(err)
    }
    this.#coreOpened(core)
    return core
  }

  /**
   * @internal Lists a candidate one of whose blocks has verified: persisted, `'feed'`, announced, indexed.
   * Resolves with the held feed — another session's when it was admitted first (the caller then
   * closes its own core). ERR_LIMIT when the store is full (nothing is stored). `first`: that
   * block's bytes, when in hand (not read back).
   */
  admit(
    core: Hypercore,
    sparse?: SparseStart,
    first?: { index: number; raw: Buffer },
  ): Promise<HypercoreFeed<T>> {
    const id = core.key.toString('hex')
    const known = this.#byId.get(id)
    if (known) return Promise.resolve(known)
    return this.#once_(`key:${id}`, async () => {
      const raced = this.#byId.get(id)
      if (raced) return raced
      return this.#reserving(async () => {
        // A sparse feed holds nothing below its start: its index counts from there.
        const state = sparse
          ? { ...emptyFeedState(), blocks: sparse.block, length: sparse.start }
          : emptyFeedState()
        const feed = this.#makeFeed(core.key, undefined, state, undefined, sparse)
        if (first) feed.prime(first.index, first.raw)
        // Listed as "open": a crash before its core closes makes the next open read its state.
        await this.#persistNew(feed, true)
        // The candidate's core is still open: this session on it costs no storage open.
        await this.#openFeed(() => feed.recover(), feed)
        this.#addFeed(feed)
        return feed
      })
    })
  }

  /** @internal A fork of `key`'s writer, proven by a tree it signed at `length`: `'error'` ERR_FORK, once per feed. */
  reportFork(key: Buffer, length: number): void {
    const id = key.toString('hex')
    if (this.#forksReported.has(id)) return
    this.#forksReported.add(id)
    this.reportError(
      new KappaError(
        'ERR_FORK',
        `feed ${id} forked: its writer signed another history at length ${length} than the one held here`,
        { feed: id },
      ),
    )
  }

  /** @internal Feeds by hex id, for the replicator. */
  knownFeed(id: string): HypercoreFeed<T> | undefined {
    return this.#byId.get(id)
  }

  /** @internal Settles once the gate knows its answers (`setGate`'s `ready`). */
  whenGateReady(): Promise<void> {
    return this.#gateReady
  }

  /** @internal `setGate`'s `settle`, or nothing to wait for. */
  async settleGate(): Promise<void> {
    if (this.#gateSettle) await this.#gateSettle()
  }

  /** @internal The feed whose core has this discovery key, for the replicator. */
  feedByDiscoveryKey(discoveryKey: Buffer): HypercoreFeed<T> | undefined {
    if (this.#byDiscoveryKey === null) {
      this.#byDiscoveryKey = new Map()
      for (const feed of this.#ordered) this.#byDiscoveryKey.set(feed.discoveryKey.toString('hex'), feed)
    }
    return this.#byDiscoveryKey.get(discoveryKey.toString('hex'))
  }

  /** @internal */
  allFeeds(): readonly HypercoreFeed<T>[] {
    return this.#ordered
  }

  // ---- implementation ---------------------------------------------------------------------------

  async #openNow(): Promise<void> {
    await readyStore(this.#store)
    const { feeds: records, blocked } = await this.#list.load()
    for (const record of blocked) this.#blockedKeys.set(record.key.toString('hex'), record)
    const feeds = records.map((record) => {
      const feed = this.#makeFeed(
        record.key,
        record.name ?? undefined,
        record.state,
        record.ordinal,
        record.sparse,
      )
      return { feed, open: record.open }
    })
    // Only a feed whose core was open when the process ended opens its core now.
    const recovering = feeds.filter((f) => f.open).map((f) => f.feed)
    for (let i = 0; i < recovering.length; i += RECOVER_CONCURRENCY) {
      const group = recovering.slice(i, i + RECOVER_CONCURRENCY)
      await Promise.all(group.map((feed) => this.#openFeed(() => feed.recover(), feed)))
    }
    for (const { feed } of feeds) this.#addFeed(feed)
  }

  async #openWriter(name: string, keyPair: KeyPair | undefined): Promise<Feed<T>> {
    await this.open()
    if (keyPair) this.#checkNotBlocked(keyPair.publicKey)
    const existing = this.#byName.get(name)
    if (existing) return existing
    const create = async (): Promise<HypercoreFeed<T>> => {
      const core = keyPair
        ? // A version-0 (compat) manifest makes the feed key the public key itself, as in hypercore 9.
          this.#store.ns.get({ key: keyPair.publicKey, keyPair, manifest: compatManifest(keyPair.publicKey) })
        : this.#store.ns.get({ name: `writer/${name}` })
      let state: FeedState
      try {
        await core.ready()
        this.#checkNotBlocked(core.key)
        // The key pair of a feed we already have: hand that one out.
        const known = this.#byId.get(core.key.toString('hex'))
        if (known) return known
        state = { ...emptyFeedState(), signedLength: core.length, blocks: core.contiguousLength }
      } catch (err) {
        throw this.#closing ? KappaError.closed('multifeed') : storeError(err)
      } finally {
        // The feed opens its own session when it is used (this one has made the core's storage).
        await core.close().catch(safetyCatch)
      }
      const feed = this.#makeFeed(core.key, name, emptyFeedState())
      await this.#persistNew(feed, state.blocks > 0)
      if (state.blocks > 0) await this.#openFeed(() => feed.recover(), feed)
      this.#addFeed(feed)
      return feed
    }
    // A new feed takes room; the key pair of one we hold does not.
    const isNew = !keyPair || !this.#byId.has(keyPair.publicKey.toString('hex'))
    return this.#once_(`name:${name}`, () => (isNew ? this.#reserving(create) : create()))
  }

  /** Runs `change` after every earlier block change (one failing does not stop the next). */
  #serialBlock<R>(change: () => Promise<R>): Promise<R> {
    const run = this.#blocking.then(async () => {
      await this.open()
      return change()
    })
    this.#blocking = settled(run)
    return run
  }

  async #blockNow(key: Buffer, drop: boolean): Promise<void> {
    const id = key.toString('hex')
    const feed = this.#byId.get(id)
    if (feed?.name !== undefined) throw KappaError.invalid(`feed ${id} is one of this store's writers`)
    const known = this.#blockedKeys.get(id)
    if (known && (known.drop || !drop)) return
    const record: BlockRecord = { key, drop }
    try {
      await this.#list.putBlocked(record)
    } catch (err) {
      throw this.#closing ? KappaError.closed('multifeed') : storeError(err)
    }
    this.#blockedKeys.set(id, record)
    this.#replicator.policyChanged(feed ?? null)
    if (!known) this.emit('block', id as FeedKey)
    if (drop && feed) await feed.dropBlocks()
  }

  async #unblockNow(key: Buffer): Promise<void> {
    const id = key.toString('hex')
    if (!this.#blockedKeys.has(id)) return
    try {
      await this.#list.deleteBlocked(key)
    } catch (err) {
      throw this.#closing ? KappaError.closed('multifeed') : storeError(err)
    }
    this.#blockedKeys.delete(id)
    this.#replicator.policyChanged(this.#byId.get(id) ?? null)
    this.emit('unblock', id as FeedKey)
  }

  #checkNotBlocked(key: Buffer): void {
    const id = key.toString('hex')
    if (this.#blockedKeys.has(id))
      throw new KappaError('ERR_BLOCKED', `feed ${id} is blocked in this store`, { feed: id })
  }

  /** Runs `create` once per `tag` at a time; concurrent callers share its result. */
  #once_(tag: string, create: () => Promise<HypercoreFeed<T>>): Promise<HypercoreFeed<T>> {
    const running = this.#pending.get(tag)
    if (running) return running
    const promise = (async () => {
      if (this.#closing) throw KappaError.closed('multifeed')
      return create()
    })()
    this.#pending.set(tag, promise)
    const forget = () => this.#pending.delete(tag)
    promise.then(forget, forget)
    return promise
  }

  #makeFeed(
    key: Buffer,
    name: string | undefined,
    state: FeedState,
    ordinal = this.#list.reserve(),
    sparse?: SparseStart,
  ): HypercoreFeed<T> {
    return new HypercoreFeed<T>(this.#feedHost, { key, name, state, ordinal, sparse }, this.#codec, (err) =>
      this.reportError(err),
    )
  }

  /** Stores a new feed's index record (`open`: its state is to be read from its core). */
  async #persistNew(feed: HypercoreFeed<T>, open: boolean): Promise<void> {
    try {
      await feed.persist(open)
    } catch (err) {
      throw this.#closing ? KappaError.closed('multifeed') : storeError(err)
    }
  }

  /** Runs `open` (which opens the feed's core); a failure closes the feed. */
  async #openFeed(open: () => Promise<void>, feed: HypercoreFeed<T>): Promise<void> {
    try {
      await open()
    } catch (err) {
      await feed.close().catch(safetyCatch)
      throw this.#closing ? KappaError.closed('multifeed') : storeError(err)
    }
  }

  /** ERR_LIMIT when the store holds (or is adding) maxFeeds feeds. */
  #checkRoom(): void {
    if (this.#ordered.length + this.#reserved >= this.maxFeeds) {
      throw KappaError.limit(`this store holds maxFeeds (${this.maxFeeds}) feeds`)
    }
  }

  /** Runs `add`, which adds one feed, with room reserved for it (ERR_LIMIT when there is none). */
  async #reserving(add: () => Promise<HypercoreFeed<T>>): Promise<HypercoreFeed<T>> {
    this.#checkRoom()
    this.#reserved++
    try {
      return await add()
    } finally {
      this.#reserved--
    }
  }

  /** A session on a feed's or a candidate's core opened: forks guarded, moves counted, channels gated. */
  #coreOpened(core: Hypercore): void {
    this.#guard(core)
    this.#replicator.coreOpened(core)
  }

  /** Forks met on `core` are reported here (and to the session whose peer proved one). */
  #guard(core: Hypercore): void {
    const id = core.key.toString('hex')
    guardForks(core, {
      fork: (length: number, from: HypercorePeer | null) => {
        this.reportFork(core.key, length)
        this.#replicator.treeChecked(id, from?.stream ?? null, true)
      },
      checked: (from: HypercorePeer | null) => this.#replicator.treeChecked(id, from?.stream ?? null, false),
    })
  }

  /** A lease on the core of our feed behind `internal` (its session guarded), or null when it is not ours. */
  async #sessionOn(internal: ConflictChecking): Promise<CoreLease | null> {
    const key = internalCoreKey(internal)
    const feed = key && !this.#closing ? this.#byId.get(key.toString('hex')) : undefined
    return feed && !feed.closed ? feed.lease(false) : null
  }

  #addFeed(feed: HypercoreFeed<T>): void {
    if (this.#closing) {
      void feed.close().catch(safetyCatch)
      throw KappaError.closed('multifeed')
    }
    this.#ordered.push(feed)
    this.#byId.set(feed.id, feed)
    this.#byDiscoveryKey?.set(feed.discoveryKey.toString('hex'), feed)
    if (feed.name !== undefined) this.#byName.set(feed.name, feed)
    this.#replicator.feedAdded(feed)
    // Live sessions offer what a feed gained (a feed is offered once it holds a block).
    feed.on('append', () => this.#replicator.feedGrew(feed))
    this.emit('feed', feed, feed.name)
  }

  /** @internal `'error'` without listeners would throw; a background error must never crash the process. */
  reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  async #closeNow(): Promise<void> {
    await settled(this.#opening)
    await Promise.allSettled([...this.#pending.values()])
    await this.#replicator.close()
    this.downloadRoom.close()
    this.#store.ns.unwatch(this.#onCore)
    const feeds = this.#ordered.splice(0)
    this.#byId.clear()
    this.#byName.clear()
    await Promise.allSettled(feeds.map((feed) => feed.close()))
    await this.#list.close().catch(safetyCatch)
    await Promise.allSettled(this.#siblings.map((sibling) => sibling.close()))
    await closeStore(this.#store).catch(safetyCatch)
    this.#closed = true
  }
}

/** `multifeed(storage, opts)` ≡ `new Multifeed(storage, opts)`. */
export function multifeed<T = unknown>(
  storage: string | CorestoreLike,
  opts?: MultifeedOptions,
): Multifeed<T> {
  return new Multifeed<T>(storage, opts)
}

function checkWriterOptions(opts: WriterOptions | undefined): KeyPair | undefined {
  if (opts === undefined) return undefined
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('writer opts must be an object')
  rejectUnknownOptions(opts, WRITER_OPTIONS, 'writer options')
  const keyPair = opts.keyPair
  if (keyPair === undefined) return undefined
  if (
    keyPair === null ||
    typeof keyPair !== 'object' ||
    !(keyPair.publicKey instanceof Uint8Array) ||
    keyPair.publicKey.byteLength !== 32 ||
    !(keyPair.secretKey instanceof Uint8Array) ||
    keyPair.secretKey.byteLength !== 64
  ) {
    throw KappaError.invalid('keyPair must be { publicKey: 32 bytes, secretKey: 64 bytes }')
  }
  return { publicKey: Buffer.from(keyPair.publicKey), secretKey: Buffer.from(keyPair.secretKey) }
}

function noop(): void {}

const INCLUDE_ALL: Inclusion = { state: 'all' }
const INCLUDE_NONE: Inclusion = { state: 'none' }

function checkPolicy(policy: ReplicationPolicy | undefined): Readonly<ReplicationPolicy> {
  if (policy === undefined) return {}
  if (policy === null || typeof policy !== 'object') throw KappaError.invalid('policy must be an object')
  const { share, accept } = policy
  if (share !== undefined && typeof share !== 'function')
    throw KappaError.invalid('policy.share must be a function')
  if (accept !== undefined && typeof accept !== 'function') {
    throw KappaError.invalid('policy.accept must be a function')
  }
  return Object.freeze({ share, accept })
}

function checkBlockOptions(opts: BlockOptions | undefined): boolean {
  if (opts === undefined) return false
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('block opts must be an object')
  if (opts.drop !== undefined && typeof opts.drop !== 'boolean')
    throw KappaError.invalid('drop must be a boolean')
  return opts.drop === true
}

function checkIdleTime(idleTime: unknown): number {
  if (idleTime === undefined) return DEFAULT_CORE_IDLE_TIME
  if (typeof idleTime !== 'number' || !Number.isFinite(idleTime) || idleTime < 0) {
    throw KappaError.invalid('coreIdleTime must be a non-negative number of milliseconds')
  }
  return idleTime
}

function checkMinFreeBytes(floor: unknown): number {
  if (floor === undefined) return MIN_FREE_BYTES
  if (typeof floor !== 'number' || !Number.isFinite(floor) || floor < 0) {
    throw KappaError.invalid('minFreeBytes must be a non-negative number of bytes')
  }
  return floor
}

function checkMaxFeeds(maxFeeds: unknown): number {
  if (maxFeeds === undefined) return DEFAULT_MAX_FEEDS
  if (typeof maxFeeds !== 'number' || !Number.isSafeInteger(maxFeeds) || maxFeeds < 1) {
    throw KappaError.invalid('maxFeeds must be a positive integer')
  }
  return maxFeeds
}

function compatManifest(publicKey: Buffer): CompatManifest {
  return { version: 0, signers: [{ publicKey }] }
}

function sameKey(a: Buffer | string, b: Buffer | string): boolean {
  return toDatabaseKey(a).equals(toDatabaseKey(b))
}
