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
import { namespaceOf, toDatabaseKey, toFeedKey } from './database-key.js'
import { HypercoreFeed, type FeedHost } from './feed.js'
import { FeedList } from './feed-list.js'
import { emptyFeedState, type FeedState } from './messages.js'
import {
  closeStore,
  createStore,
  isCorestore,
  readyStore,
  storeError,
  type StoreHandle,
} from './open-store.js'
import { Replicator } from './replication/replicator.js'
import type {
  Codec,
  CorestoreLike,
  Feed,
  KeyPair,
  MultifeedEvents,
  ReplicateOptions,
  ReplicationStream,
  ValueEncoding,
} from './types.js'
import { guardForks } from './replication/trees.js'
import { toCodec } from './value-encoding.js'

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
}

export interface WriterOptions {
  /** Use this ed25519 key pair instead of one derived from the name. */
  keyPair?: KeyPair
}

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
  private readonly codec: Codec<T>
  private readonly store: StoreHandle
  private readonly list: FeedList
  private readonly replicator: Replicator<T>
  private readonly ordered: HypercoreFeed<T>[] = []
  private readonly byId = new Map<string, HypercoreFeed<T>>()
  private readonly byName = new Map<string, HypercoreFeed<T>>()
  /** Feeds being created or opened, by `name:<name>` or `key:<hex>`, so concurrent calls share one. */
  private readonly pending = new Map<string, Promise<HypercoreFeed<T>>>()
  /** Feeds being admitted or created: they count against maxFeeds before they are listed. */
  private reserved = 0
  /** Feeds whose fork was reported: each is reported once. */
  private readonly forksReported = new Set<string>()
  /** Multifeeds sharing this one's Corestore (`sibling`): closed before it. */
  private readonly siblings: Multifeed<unknown>[] = []
  private readonly feedHost: FeedHost
  private opening: Promise<void> | null = null
  private closing: Promise<void> | null = null
  private _closed = false

  constructor(storage: string | CorestoreLike, opts: MultifeedOptions = {}) {
    super()
    if (typeof storage !== 'string' && !isCorestore(storage)) {
      throw KappaError.invalid('storage must be a directory path or a Corestore')
    }
    if (typeof storage === 'string' && storage.length === 0) throw KappaError.invalid('storage path is empty')
    if (opts === null || typeof opts !== 'object') throw KappaError.invalid('opts must be an object')
    if (
      opts.encryptionKey !== undefined &&
      opts.key !== undefined &&
      !sameKey(opts.encryptionKey, opts.key)
    ) {
      throw KappaError.invalid('encryptionKey and key differ')
    }
    this.key = toDatabaseKey(opts.encryptionKey ?? opts.key)
    this.maxFeeds = checkMaxFeeds(opts.maxFeeds)
    this.codec = toCodec<T>(opts.valueEncoding)
    this.store = createStore(storage as string | Corestore, namespaceOf(this.key))
    this.list = new FeedList(this.store.ns)
    this.replicator = new Replicator<T>(this, this.store.root)
    const idleTime = checkIdleTime(opts.coreIdleTime)
    this.feedHost = {
      idleTime,
      openCore: (key, writable) =>
        this.store.ns.get(writable ? { key } : { key, inflightRange: REMOTE_INFLIGHT_RANGE }),
      persist: (ordinal, record) => this.list.put(ordinal, record),
      coreOpened: (core) => {
        this.guard(core)
        this.replicator.coreOpened(core)
      },
    }
  }

  /** True once `close()` has finished. */
  get closed(): boolean {
    return this._closed
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
      return withCallback(this.openWriter(writerName, keyPair), cb)
    } catch (err) {
      return withCallback(Promise.reject(err as Error), cb)
    }
  }

  /** The feed with this key (Buffer or hex), local or remote, or undefined. */
  feed(key: Buffer | string): Feed<T> | undefined {
    return this.byId.get(toFeedKey(key).toString('hex'))
  }

  /** Every feed, local and remote, in the order first added (the same after reopening). */
  feeds(): Feed<T>[] {
    return this.ordered.slice()
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
    return this.replicator.replicate(isInitiator, opts)
  }

  /**
   * Another set of logs in this Multifeed's Corestore, in the namespace of `opts.key`, with its own
   * value encoding and feed list; it closes when this one does (before the store).
   */
  sibling<U>(opts: MultifeedOptions): Multifeed<U> {
    if (this.closing) throw KappaError.closed('multifeed')
    const sibling = new Multifeed<U>(this.store.root, opts)
    this.siblings.push(sibling as Multifeed<unknown>)
    return sibling
  }

  /** Ends replication, closes every feed and the store (a given Corestore stays open). */
  close(cb?: Callback<void>): Promise<void> {
    if (!this.closing) this.closing = this.closeNow()
    return withCallback(this.closing, cb)
  }

  // ---- internals used by the replicator -------------------------------------------------------

  /** @internal Resolves once the store is open; rejects with ERR_CLOSED once closing started. */
  open(): Promise<void> {
    if (this.closing) return Promise.reject(KappaError.closed('multifeed'))
    if (!this.opening) this.opening = this.openNow()
    return this.opening
  }

  /** @internal */
  get isClosing(): boolean {
    return this.closing !== null
  }

  /**
   * @internal A session on the core of a feed we do not hold yet (a peer offered it), for the replication
   * to prove it: not listed, not announced, until `admit`. ERR_LIMIT when the store is full.
   */
  async openCandidate(key: Buffer): Promise<Hypercore> {
    this.checkRoom()
    if (this.closing) throw KappaError.closed('multifeed')
    const core = this.store.ns.get({ key, inflightRange: REMOTE_INFLIGHT_RANGE })
    try {
      await core.ready()
    } catch (err) {
      await core.close().catch(() => undefined)
      throw this.closing ? KappaError.closed('multifeed') : storeError(err)
    }
    this.guard(core)
    this.replicator.coreOpened(core)
    return core
  }

  /**
   * @internal Lists a candidate one of whose blocks has verified: persisted, `'feed'`, announced, indexed.
   * Resolves with the held feed — another session's when it was admitted first (the caller then
   * closes its own core). ERR_LIMIT when the store is full (nothing is stored).
   */
  admit(core: Hypercore): Promise<HypercoreFeed<T>> {
    const id = core.key.toString('hex')
    const known = this.byId.get(id)
    if (known) return Promise.resolve(known)
    return this.once_(`key:${id}`, async () => {
      const raced = this.byId.get(id)
      if (raced) return raced
      return this.reserving(async () => {
        const feed = this.makeFeed(core.key, undefined, emptyFeedState())
        // Listed as "open": a crash before its core closes makes the next open read its state.
        await this.persistNew(feed, true)
        // The candidate's core is still open: this session on it costs no storage open.
        await this.openFeed(() => feed.recover(), feed)
        this.addFeed(feed)
        return feed
      })
    })
  }

  /** @internal A fork of `key`'s writer, proven by a tree it signed at `length`: `'error'` ERR_FORK, once per feed. */
  reportFork(key: Buffer, length: number): void {
    const id = key.toString('hex')
    if (this.forksReported.has(id)) return
    this.forksReported.add(id)
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
    return this.byId.get(id)
  }

  /** @internal */
  allFeeds(): readonly HypercoreFeed<T>[] {
    return this.ordered
  }

  // ---- implementation ---------------------------------------------------------------------------

  private async openNow(): Promise<void> {
    await readyStore(this.store)
    const records = await this.list.load()
    const feeds = records.map((record) => {
      const feed = this.makeFeed(record.key, record.name ?? undefined, record.state, record.ordinal)
      return { feed, open: record.open }
    })
    // Only a feed whose core was open when the process ended opens its core now.
    const recovering = feeds.filter((f) => f.open).map((f) => f.feed)
    for (let i = 0; i < recovering.length; i += RECOVER_CONCURRENCY) {
      const group = recovering.slice(i, i + RECOVER_CONCURRENCY)
      await Promise.all(group.map((feed) => this.openFeed(() => feed.recover(), feed)))
    }
    for (const { feed } of feeds) this.addFeed(feed)
  }

  private async openWriter(name: string, keyPair: KeyPair | undefined): Promise<Feed<T>> {
    await this.open()
    const existing = this.byName.get(name)
    if (existing) return existing
    const create = async (): Promise<HypercoreFeed<T>> => {
      const core = keyPair
        ? // A version-0 (compat) manifest makes the feed key the public key itself, as in hypercore 9.
          this.store.ns.get({ key: keyPair.publicKey, keyPair, manifest: compatManifest(keyPair.publicKey) })
        : this.store.ns.get({ name: `writer/${name}` })
      let state: FeedState
      try {
        await core.ready()
        // The key pair of a feed we already have: hand that one out.
        const known = this.byId.get(core.key.toString('hex'))
        if (known) return known
        state = { ...emptyFeedState(), signedLength: core.length, blocks: core.contiguousLength }
      } catch (err) {
        throw this.closing ? KappaError.closed('multifeed') : storeError(err)
      } finally {
        // The feed opens its own session when it is used (this one has made the core's storage).
        await core.close().catch(() => undefined)
      }
      const feed = this.makeFeed(core.key, name, emptyFeedState())
      await this.persistNew(feed, state.blocks > 0)
      if (state.blocks > 0) await this.openFeed(() => feed.recover(), feed)
      this.addFeed(feed)
      return feed
    }
    // A new feed takes room; the key pair of one we hold does not.
    const isNew = !keyPair || !this.byId.has(keyPair.publicKey.toString('hex'))
    return this.once_(`name:${name}`, () => (isNew ? this.reserving(create) : create()))
  }

  /** Runs `create` once per `tag` at a time; concurrent callers share its result. */
  private once_(tag: string, create: () => Promise<HypercoreFeed<T>>): Promise<HypercoreFeed<T>> {
    const running = this.pending.get(tag)
    if (running) return running
    const promise = (async () => {
      if (this.closing) throw KappaError.closed('multifeed')
      return create()
    })()
    this.pending.set(tag, promise)
    const forget = () => this.pending.delete(tag)
    promise.then(forget, forget)
    return promise
  }

  private makeFeed(
    key: Buffer,
    name: string | undefined,
    state: FeedState,
    ordinal = this.list.reserve(),
  ): HypercoreFeed<T> {
    return new HypercoreFeed<T>(this.feedHost, { key, name, state, ordinal }, this.codec, (err) =>
      this.reportError(err),
    )
  }

  /** Stores a new feed's index record (`open`: its state is to be read from its core). */
  private async persistNew(feed: HypercoreFeed<T>, open: boolean): Promise<void> {
    try {
      await this.list.put(feed.ordinal, feed.record(open))
    } catch (err) {
      throw this.closing ? KappaError.closed('multifeed') : storeError(err)
    }
  }

  /** Runs `open` (which opens the feed's core); a failure closes the feed. */
  private async openFeed(open: () => Promise<void>, feed: HypercoreFeed<T>): Promise<void> {
    try {
      await open()
    } catch (err) {
      await feed.close().catch(() => undefined)
      throw this.closing ? KappaError.closed('multifeed') : storeError(err)
    }
  }

  /** ERR_LIMIT when the store holds (or is adding) maxFeeds feeds. */
  private checkRoom(): void {
    if (this.ordered.length + this.reserved >= this.maxFeeds) {
      throw KappaError.limit(`this store holds maxFeeds (${this.maxFeeds}) feeds`)
    }
  }

  /** Runs `add`, which adds one feed, with room reserved for it (ERR_LIMIT when there is none). */
  private async reserving(add: () => Promise<HypercoreFeed<T>>): Promise<HypercoreFeed<T>> {
    this.checkRoom()
    this.reserved++
    try {
      return await add()
    } finally {
      this.reserved--
    }
  }

  /** Forks met on `core` are reported here (and to the session whose peer proved one). */
  private guard(core: Hypercore): void {
    const id = core.key.toString('hex')
    guardForks(core, {
      fork: (length: number, from: HypercorePeer | null) => {
        this.reportFork(core.key, length)
        this.replicator.treeChecked(id, from?.stream ?? null, true)
      },
      checked: (from: HypercorePeer | null) => this.replicator.treeChecked(id, from?.stream ?? null, false),
    })
  }

  private addFeed(feed: HypercoreFeed<T>): void {
    if (this.closing) {
      void feed.close().catch(() => undefined)
      throw KappaError.closed('multifeed')
    }
    this.ordered.push(feed)
    this.byId.set(feed.id, feed)
    if (feed.name !== undefined) this.byName.set(feed.name, feed)
    this.replicator.feedAdded(feed)
    // Live sessions offer what a feed gained (a feed is offered once it holds a block).
    feed.on('append', () => this.replicator.feedGrew(feed))
    this.emit('feed', feed, feed.name)
  }

  /** @internal `'error'` without listeners would throw; a background error must never crash the process. */
  reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  private async closeNow(): Promise<void> {
    await this.opening?.catch(() => undefined)
    await Promise.allSettled([...this.pending.values()])
    await this.replicator.close()
    const feeds = this.ordered.splice(0)
    this.byId.clear()
    this.byName.clear()
    await Promise.allSettled(feeds.map((feed) => feed.close()))
    await this.list.close().catch(() => undefined)
    await Promise.allSettled(this.siblings.map((sibling) => sibling.close()))
    await closeStore(this.store).catch(() => undefined)
    this._closed = true
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

function checkIdleTime(idleTime: unknown): number {
  if (idleTime === undefined) return DEFAULT_CORE_IDLE_TIME
  if (typeof idleTime !== 'number' || !Number.isFinite(idleTime) || idleTime < 0) {
    throw KappaError.invalid('coreIdleTime must be a non-negative number of milliseconds')
  }
  return idleTime
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
