/**
 * The Feed contract the upper layers (kappa, hyperlog) rely on. `Multifeed` implements it over
 * Hypercore 11; nothing above `src/feeds` touches Hypercore directly.
 */
import type { EventEmitter } from 'node:events'
import type { KappaError } from '../errors.js'
import type { Inclusion } from '../membership/types.js'
import type { Duplex, Readable } from 'node:stream'

declare const feedKeyBrand: unique symbol
/** A feed's public key as 64 lowercase hex characters. */
export type FeedKey = string & { readonly [feedKeyBrand]: true }

export interface Codec<T = unknown> {
  encode(value: T): Uint8Array
  decode(bytes: Uint8Array): T
}

export type ValueEncoding = 'json' | 'utf-8' | 'utf8' | 'binary' | Codec

export interface FeedEvents {
  /** `length` grew: local appends or entries downloaded from a peer. */
  append: []
  close: []
}

/**
 * One writer's log. `seq` counts entries (0-based), whatever the block layout underneath;
 * `length` is where the entries readable locally end, contiguous from `start` (0 unless the feed
 * is sparse).
 */
export interface Feed<T = unknown> extends EventEmitter<FeedEvents> {
  /** 32-byte ed25519 public key. */
  readonly key: Buffer
  /** Hex form of `key`. */
  readonly id: FeedKey
  readonly discoveryKey: Buffer
  readonly length: number
  /**
   * True when `length` counts every entry stored locally. `length` follows downloaded blocks
   * asynchronously (a block counts once its header is read): until then this is false, and
   * `update()` brings `length` up to date.
   */
  readonly upToDate: boolean
  readonly writable: boolean
  /** Local name when this is one of our writers, else undefined. */
  readonly name: string | undefined
  /**
   * The first entry seq this store holds of the feed: 0, unless the feed was accepted sparse
   * (`accept` answered `{ start: S }`: the seq of the first entry of block S, S itself when every
   * block holds one entry), when entries below it are never downloaded. Persisted; it never moves.
   * `length` still counts seqs from 0 (the end of what is held); `get`, `getBatch` and read streams
   * below `start` reject with ERR_NOT_FOUND.
   */
  readonly start: number
  /**
   * Append one value, or an array as one atomic append. Resolves with the seq of the first.
   * Rejects (`ERR_INVALID_ARGUMENT`) while seqs are reserved: those come first.
   */
  append(value: T | T[]): Promise<number>
  append(value: T | T[], cb: (err: Error | null, seq?: number) => void): void
  /**
   * Reserved seqs: a writer that must know where its entries will land before they are appended
   * (Hyperlog indexes and acknowledges its writes first, then appends them in the background)
   * reserves the next `count` seqs and appends them later with `appendReserved`. Reservations are
   * in memory only: after a restart the feed has none.
   *
   * `reserve(count)` returns the first seq of `count` new ones, following every entry and
   * reservation so far; it throws while a plain `append` is in flight (its seqs are not known yet).
   */
  reserve(count: number): number
  /** `length` plus the seqs reserved and not appended yet: where the next reservation starts. */
  readonly reservedLength: number
  /**
   * Appends `values` as the entries of reserved seqs `seq…`, atomically; resolves with `seq`.
   * One at a time and in order: `seq` must equal `length`, with no other append in flight.
   */
  appendReserved(seq: number, values: T[]): Promise<number>
  /** Gives back the reserved seqs from `seq` on (those not being appended): a write that failed. */
  unreserve(seq: number): void
  get(seq: number): Promise<T>
  get(seq: number, cb: (err: Error | null, value?: T) => void): void
  /** Entries `[start, end)`, all locally present; rejects with ERR_NOT_FOUND otherwise. */
  getBatch(start: number, end: number): Promise<T[]>
  getBatch(start: number, end: number, cb: (err: Error | null, values?: T[]) => void): void
  /** Brings `length` up to the core's contiguous blocks now; rejects when a block is invalid. */
  update(): Promise<void>
  update(cb: (err: Error | null) => void): void
  /**
   * Values from `start` (default: the feed's `start`) to `end` (default length); `live` keeps
   * following appends. Below a sparse feed's start: the stream errors with ERR_NOT_FOUND.
   */
  createReadStream(opts?: { start?: number; end?: number; live?: boolean }): Readable
  /**
   * The Merkle tree hash of the blocks holding entries `[0, entries)`, or null while fewer entries
   * are stored locally (a sparse feed: also when `entries` is not past `start`). Two histories that differ below `entries` have different hashes.
   */
  treeHash(entries: number): Promise<Buffer | null>
  treeHash(entries: number, cb: (err: Error | null, hash?: Buffer | null) => void): void
  /** From now on `append` rejects with `err` (and `reserve` throws it); null lets appends through again. */
  refuseAppends(err: KappaError | null): void
  /**
   * The key pair this store signs the feed with (one of our writers), or null (a peer's feed):
   * for logs that must be signed by the same writer (membership logs).
   */
  signingKeyPair(): Promise<{ publicKey: Buffer; secretKey: Buffer } | null>
}

export interface MultifeedEvents<T = unknown> {
  /** Every feed added: created, loaded from storage, or learned from a peer. */
  feed: [feed: Feed<T>, name: string | undefined]
  /** `block(key)` took effect: the feed (hex key) is blocked, persisted. */
  block: [key: FeedKey]
  /** `unblock(key)` took effect: the feed (hex key) replicates again. */
  unblock: [key: FeedKey]
  error: [err: Error]
}

/** `block(key, opts)`. */
export interface BlockOptions {
  /**
   * Also free the feed's stored blocks (Hypercore `clear`): its entries are gone from this store
   * (`length` 0) until it is unblocked and downloaded again. Refused (`ERR_INVALID_ARGUMENT`) by a
   * Multifeed whose upper layer needs every stored block (`refuseDrop`).
   */
  drop?: boolean
}

export type ReplicationMode = 'sync' | 'push' | 'pull'

/** The feed `share` is asked about. */
export interface SharedFeed {
  key: FeedKey
  /** Entries held here. */
  length: number
  /** Our local writer name, when it is one of our writers. */
  name?: string
}

/** The peer's offer `accept` is asked about. */
export interface FeedOfferInfo {
  key: FeedKey
  /** Blocks the peer says it holds (a claim: downloads stop at what its writer signed). */
  length: number
}

/** The other side of a replication, as the hooks see it. */
export interface ReplicationPeer {
  /**
   * The Noise public key of the connection (a Hyperswarm connection's, or any stream handed to
   * `replicate` that has a `remotePublicKey`); null over a plain pipe or socket.
   */
  remotePublicKey: Buffer | null
}

/** Offer and serve `feed` to `peer`? Synchronous; throwing counts as false. */
export type ShareHook = (feed: SharedFeed, peer: ReplicationPeer) => boolean

/**
 * Take the offered feed from `peer`? `true`, `false`, or `{ start }`: only the blocks from block
 * `start` on (it counts blocks, as the offer's `length` does; a sparse feed whose `start` is that
 * block's first entry seq). `{ start: 0 }` is `true`; a start at or past the offered length takes
 * nothing from this offer (live, a later offer reaching past it is taken); a start that is not a
 * non-negative integer is `false`. It shapes only a feed this store does not hold yet: for one it
 * holds it is `true` (the feed keeps its own start).
 */
export type AcceptAnswer = boolean | { start: number }
export type AcceptHook = (offer: FeedOfferInfo, peer: ReplicationPeer) => AcceptAnswer

/** `share` and `accept` together: a Multifeed's `policy` option, the defaults of every replicate. */
export interface ReplicationPolicy {
  share?: ShareHook
  accept?: AcceptHook
}

/**
 * How much of a feed this store takes and serves, for the layer above (membership): `all`, the
 * entries below a `prefix` length, or `none`. Asked for every feed a connection offers, serves or
 * takes; `gateChanged()` makes every connection ask again.
 */
export type FeedGate = (key: FeedKey) => Inclusion

export interface ReplicateOptions {
  /** Keep the stream open and exchange new feeds and entries as they come (default false). */
  live?: boolean
  /** push: only send; pull: only receive; sync (default): both. push+push and pull+pull fail. */
  mode?: ReplicationMode
  /**
   * Awaited after this side has downloaded everything it was offered and before it tells the peer
   * it is done (non-live). A rejection destroys the stream with that error. Upper layers use it to
   * finish indexing what arrived, and to refuse what fails their checks.
   */
  beforeDone?: () => Promise<void>
  /**
   * Awaited before this side sends its list of feeds (and their lengths). A rejection destroys the
   * stream with that error. Upper layers use it to move writes they acknowledged but have not
   * appended yet into their feeds, so this replication sends them.
   */
  beforeHello?: () => Promise<void>
  /**
   * Live: awaited once this side holds everything the peer offered when it connected, before the
   * stream emits `'caught-up'`. Upper layers use it to finish indexing what arrived.
   */
  beforeCaughtUp?: () => Promise<void>
  /**
   * Offer and serve this feed to this peer? Default: the store's `policy.share`, else yes. A feed not
   * shared with a peer is also not downloaded from it: one Hypercore channel carries both ways.
   */
  share?: ShareHook
  /** Take this feed from this peer? Default: the store's `policy.accept`, else yes. */
  accept?: AcceptHook
  /**
   * Other Multifeeds of this one's Corestore (made with `sibling()`), replicated on the same
   * connection, each on a channel of its own under its own key, with its own gate and policy (these
   * hooks are this Multifeed's only). A non-live replication ends once every one of them is done; a
   * peer that has no such Multifeed simply has nothing to exchange on it.
   */
  alongside?: ReplicationSibling[]
  /** Give up a non-live replication that makes no progress for this long (ms). */
  timeout?: number
  /**
   * Fail a live replication whose peer sends nothing at all — keep-alives included — for this long
   * (ms, default 60,000) with ERR_TIMEOUT. Both sides send keep-alives at least every quarter of
   * their own liveTimeout (every 5 s at most).
   */
  liveTimeout?: number
}

/** A Multifeed given as `alongside` (its `sibling()`s): its members for that are internal. */
export interface ReplicationSibling {
  readonly key: Buffer
  readonly maxFeeds: number
}

/** The events a replication stream adds to a Duplex's own. */
export interface ReplicationStreamEvents {
  /** The peer's first offers are all taken: every feed it had when it connected is known here. */
  'remote-feeds': []
  /**
   * Live streams, once: this side holds every entry the peer offered when it connected, and the
   * views (a Kappa's, a Hyperlog's DAG) have indexed them. Later entries keep arriving without
   * another event (a view's `watch` or `'change'` follows them).
   */
  'caught-up': []
}

type DuplexListener = Parameters<Duplex['on']>

/** The stream `replicate()` returns (Multifeed, Kappa, Hyperlog, and so HyperKV's `kv.log`). */
export interface ReplicationStream extends Duplex {
  /**
   * The encrypted connection the replication runs on, when `replicate()` was given one (a
   * Hyperswarm connection): this stream then carries no bytes and is not piped. null when the
   * stream carries the replication itself (pipe it to the peer's).
   */
  readonly connection: Duplex | null
  /**
   * Resolves when the replication ended cleanly: non-live, both sides agreed they hold what the
   * other offered; live, the stream was ended (by either side, or by closing the store) without an
   * error. Rejects with the stream's KappaError otherwise — `ERR_CLOSED` when it was destroyed or
   * its store closed before a non-live replication completed. Calling it listens for `'error'`:
   * the error reaches the promise, and an app that awaits it needs no `'error'` listener.
   */
  finished(): Promise<void>
  on<E extends keyof ReplicationStreamEvents>(
    event: E,
    listener: (...args: ReplicationStreamEvents[E]) => void,
  ): this
  on(...args: DuplexListener): this
  once<E extends keyof ReplicationStreamEvents>(
    event: E,
    listener: (...args: ReplicationStreamEvents[E]) => void,
  ): this
  once(...args: DuplexListener): this
  off<E extends keyof ReplicationStreamEvents>(
    event: E,
    listener: (...args: ReplicationStreamEvents[E]) => void,
  ): this
  off(...args: DuplexListener): this
}

/*
 * The Holepunch packages ship no types, and the declarations kappadb compiles against stay inside
 * it: an app's own imports of hypercore or corestore type-check as the app's declarations say.
 * Where the API hands out or takes one of their objects, it is typed by the interfaces below —
 * the members kappadb relies on and documents (cast to your own types for more).
 */

/** An ed25519 key pair (Hypercore's, Hyperswarm's and HyperDHT's shape). */
export interface KeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/** A Corestore 7 instance (`new Corestore(dir)`): checked at run time; its methods as kappadb uses them. */
export interface CorestoreLike {
  get(...args: never[]): unknown
  namespace(...args: never[]): unknown
  replicate(...args: never[]): unknown
  ready(): Promise<unknown>
  close(): Promise<unknown>
}
