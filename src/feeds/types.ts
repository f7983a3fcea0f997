/**
 * The Feed contract the upper layers (kappa, hyperlog) rely on. `Multifeed` implements it over
 * Hypercore 11; nothing above `src/feeds` touches Hypercore directly.
 */
import type { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'

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
 * `length` is the number of entries readable locally, contiguous from 0.
 */
export interface Feed<T = unknown> extends EventEmitter<FeedEvents> {
  /** 32-byte ed25519 public key. */
  readonly key: Buffer
  /** Hex form of `key`. */
  readonly id: FeedKey
  readonly discoveryKey: Buffer
  readonly length: number
  /**
   * Contiguous Hypercore blocks accounted for in `length`. `length` follows the core's blocks
   * asynchronously (a downloaded block counts once its header is read): while
   * `core.contiguousLength` is larger, `length` understates what is stored locally.
   */
  readonly blockLength: number
  readonly writable: boolean
  /** The Hypercore underneath (its blocks pack several entries: see docs/DESIGN.md). */
  readonly core: HypercoreLike
  /** Local name when this is one of our writers, else undefined. */
  readonly name: string | undefined
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
  /** Values from `start` (default 0) to `end` (default length); `live` keeps following appends. */
  createReadStream(opts?: { start?: number; end?: number; live?: boolean }): Readable
}

export interface MultifeedEvents<T = unknown> {
  /** Every feed added: created, loaded from storage, or learned from a peer. */
  feed: [feed: Feed<T>, name: string | undefined]
  error: [err: Error]
}

export type ReplicationMode = 'sync' | 'push' | 'pull'

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
  /** Give up a non-live replication that makes no progress for this long (ms). */
  timeout?: number
  /**
   * Fail a live replication whose peer sends nothing at all — keep-alives included — for this long
   * (ms, default 60,000) with ERR_TIMEOUT. Both sides send keep-alives at least every quarter of
   * their own liveTimeout (every 5 s at most).
   */
  liveTimeout?: number
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

/** One peer of a Hypercore on a replication stream. */
export interface HypercorePeerLike {
  readonly remoteLength: number
  readonly remoteContiguousLength: number
}

export interface HypercoreLikeEvents {
  append: []
  close: []
  ready: []
  download: [index: number, byteLength: number, from: unknown]
  upload: [index: number, byteLength: number, from: unknown]
  'peer-add': [peer: HypercorePeerLike]
  'peer-remove': [peer: HypercorePeerLike]
  'verification-error': [err: Error]
}

/** `feed.core`: the Hypercore 11 session under a feed. Its blocks are packed entries (docs/DESIGN.md). */
export interface HypercoreLike extends EventEmitter<HypercoreLikeEvents> {
  readonly key: Buffer
  readonly discoveryKey: Buffer
  readonly id: string
  /** Blocks (not entries): the signed length. */
  readonly length: number
  readonly contiguousLength: number
  readonly byteLength: number
  readonly writable: boolean
  readonly readable: boolean
  readonly opened: boolean
  readonly closed: boolean
  readonly peers: readonly HypercorePeerLike[]
  ready(): Promise<void>
  /** A block's bytes (a packed group of entries), or null with `{ wait: false }` when missing. */
  get(index: number, opts?: { wait?: boolean; timeout?: number }): Promise<Buffer | null>
  has(start: number, end?: number): Promise<boolean>
  update(opts?: { wait?: boolean }): Promise<boolean>
  /** Raw blocks, bypassing the feed's packing: readers of the feed see them as its next entries' blocks. */
  append(
    blocks: Buffer | Uint8Array | Array<Buffer | Uint8Array>,
  ): Promise<{ length: number; byteLength: number }>
  /** Fetches blocks `[start, end)` from peers (`end: -1`: keep following). */
  download(range?: { start?: number; end?: number; blocks?: number[]; linear?: boolean }): {
    ready(): Promise<void>
    done(): Promise<void>
    destroy(): void
  }
}
