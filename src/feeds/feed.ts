/**
 * `HypercoreFeed`: the `Feed` contract (types.ts) over one Hypercore whose blocks pack several
 * entries (messages.ts). Seqs, `length`, `get` and `getBatch` count entries, never blocks.
 */
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { KappaError } from '../errors.js'
import { withCallback, type Callback } from '../util/callback.js'
import { FreeSpace } from '../util/storage-fault.js'
import { AppendBatcher } from './append-batcher.js'
import { BlockIndex, coreError } from './block-index.js'
import { MAX_ENTRY_BYTES, MAX_VALUE_DEPTH, checkEntrySize, jsonTooDeep } from './limits.js'
import { storageDirectory } from './dependency-internals.js'
import {
  encodeBlocks,
  decodeBlockHeader,
  type FeedOffer,
  type FeedRecord,
  type FeedState,
  type SparseStart,
} from './messages.js'
import { createFeedReadStream, type FeedReadStreamOptions } from './read-stream.js'
import type { Codec, Feed, FeedEvents, FeedKey } from './types.js'
import { treeHashAt } from './replication/trees.js'
import { decodeAll, encodeValue, isJsonCodec } from './value-encoding.js'
import { safetyCatch, settled } from '../util/errors.js'

/** What a feed needs from its Multifeed. */
export interface FeedHost {
  /**
   * A new session on the feed's core (its `ready()` not awaited yet); `active: false`, one that
   * does not replicate the core (Corestore attaches an active one to every connection).
   */
  openCore(key: Buffer, writable: boolean, active?: boolean): Hypercore
  /** Stores the feed's index record: its state, and whether its core is open and may change it. */
  persist(ordinal: number, record: FeedRecord): Promise<void>
  /** A session on the feed's core opened: forks are guarded, blocks moved are counted. */
  coreOpened(core: Hypercore): void
  /** A core open and unused for this long (ms) is closed. */
  readonly idleTime: number
  /** Appends need this many bytes free on the core's file system (0: no check). */
  readonly minFreeBytes: number
  /** ERR_BLOCKED when the feed with this key is blocked in the store (local writes refuse). */
  checkNotBlocked(key: Buffer): void
}

/** The feed's open core and its seq index (present only while the core is open). */
interface OpenCore {
  readonly core: Hypercore
  readonly index: BlockIndex
  /** Whether the index record says "open" (written before the first change of this opening). */
  marked: Promise<void> | null
  readonly onGrow: () => void
  /** Growth events of the core, and how many of them the index has caught up with (a sparse feed's `upToDate`). */
  grew: number
  counted: number
  /** Live downloads following the newest block of this opening (`followLatest`). */
  latest: number
}

/** A lease on a feed's open core: the core stays open until `release()`. */
export interface CoreLease {
  readonly core: Hypercore
  release(): void
}

export class HypercoreFeed<T = unknown> extends EventEmitter<FeedEvents> implements Feed<T> {
  readonly key: Buffer
  readonly id: FeedKey
  readonly name: string | undefined
  /** Where the feed's record is stored in the index (its place in the order of feeds). */
  readonly ordinal: number
  /** A sparse feed's first block and entry (accepted `{ start }`); undefined for a feed held from 0. */
  readonly sparse: SparseStart | undefined
  readonly #codec: Codec<T>
  readonly #host: FeedHost
  readonly #batcher: AppendBatcher
  readonly #onError: (err: Error) => void
  /** What the feed held when its core last closed (current while `open` is null). */
  #state: FeedState
  /** A block the next opening of the core caches instead of reading it (`prime`). */
  #primed: { index: number; raw: Buffer } | null = null
  /** Whether the index record stored last is `record(true)` with this `state`: marking "open" again writes nothing new. */
  #listedOpen = false
  #open: OpenCore | null = null
  #opening: Promise<OpenCore> | null = null
  #closingCore: Promise<void> | null = null
  /** Leases and operations using the open core: it closes once this is 0 for `idleTime`. */
  #holds = 0
  #idleTimer: NodeJS.Timeout | null = null
  #refreshing: Promise<void> | null = null
  #refreshAgain = false
  #closed = false
  #discoveryKey: Buffer | null = null
  #freeSpace: FreeSpace | null | undefined = undefined
  #refusal: KappaError | null = null
  /** The end of the reserved seqs (`length` or below: none reserved). */
  #reservedEnd = 0
  /** The end of the reserved entries being appended now (0: no `appendReserved` in flight). */
  #appendingEnd = 0

  constructor(
    host: FeedHost,
    record: {
      key: Buffer
      name: string | undefined
      state: FeedState
      ordinal: number
      sparse?: SparseStart
    },
    codec: Codec<T>,
    onError: (err: Error) => void,
  ) {
    super()
    this.#host = host
    this.key = record.key
    this.id = record.key.toString('hex') as FeedKey
    this.name = record.name
    this.ordinal = record.ordinal
    this.sparse = record.sparse
    this.#state = record.state
    this.#codec = codec
    this.#onError = onError
    this.#batcher = new AppendBatcher(
      (entries) => this.#writeEntries(entries),
      () => this.length,
    )
  }

  get discoveryKey(): Buffer {
    if (this.#discoveryKey === null) this.#discoveryKey = crypto.discoveryKey(this.key)
    return this.#discoveryKey
  }

  get length(): number {
    return this.#open ? this.#open.index.length : this.#state.length
  }

  /**
   * The end of the contiguous blocks counted in `length`: what replication offers. A sparse feed
   * holds them from `startBlock` on, none below.
   */
  get blocks(): number {
    return this.#open ? this.#open.index.blocks : this.#state.blocks
  }

  get start(): number {
    return this.sparse?.start ?? 0
  }

  /** The first block held: 0, or a sparse feed's start block. */
  get startBlock(): number {
    return this.sparse?.block ?? 0
  }

  /**
   * The end of the blocks the open core holds contiguously from `startBlock` (the feed's core must
   * be leased): what a download has reached, before `length` follows.
   */
  heldBlocks(): Promise<number> {
    if (this.#open === null) throw KappaError.closed('feed core')
    return this.#open.index.heldEnd()
  }

  get reservedLength(): number {
    return Math.max(this.#reservedEnd, this.length)
  }

  reserve(count: number): number {
    if (!Number.isSafeInteger(count) || count <= 0)
      throw KappaError.invalid('count must be a positive integer')
    this.#checkOpen()
    if (this.name === undefined) throw KappaError.invalid('feed is not writable (not one of our writers)')
    // Reserved seqs are appends to come: a refused feed takes none (its writes fail before indexing).
    if (this.#refusal) throw this.#refusal
    if (!this.#batcher.idle) throw KappaError.invalid('seqs cannot be reserved while an append is in flight')
    const first = this.reservedLength
    this.#reservedEnd = first + count
    return first
  }

  unreserve(seq: number): void {
    checkSeq(seq, 'seq')
    const floor = Math.max(this.length, this.#appendingEnd)
    if (seq < floor || seq > this.reservedLength) {
      throw KappaError.invalid(
        `seqs from ${seq} are not reserved (reserved: [${floor}, ${this.reservedLength}))`,
      )
    }
    this.#reservedEnd = seq
  }

  appendReserved(seq: number, values: T[]): Promise<number> {
    return this.#appendReservedNow(seq, values)
  }

  get upToDate(): boolean {
    const open = this.#open
    if (open === null) return true
    // A sparse core's contiguous length is 0 (block 0 is never held): its growth events say.
    if (this.sparse) return open.grew === open.counted
    return open.core.contiguousLength <= open.index.blocks
  }

  get writable(): boolean {
    return this.name !== undefined && !this.#closed
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The signed length (blocks) of the feed's core: the open core's, or the index's. */
  get signedLength(): number {
    return this.#open ? this.#open.core.length : this.#state.signedLength
  }

  /** Whether the feed's core is open now (it opens to read, write or move blocks). */
  get coreOpen(): boolean {
    return this.#open !== null
  }

  /**
   * The offer replication makes of this feed: from the open core, or from the index. An offer
   * claims blocks held from 0, so a sparse feed's claims none (length 0): it is never sent, and
   * its signed length and tree hash serve only to compare trees with a peer's offer.
   */
  async offer(): Promise<FeedOffer> {
    const open = this.#open
    if (open === null) {
      const { blocks, signedLength, treeHash } = this.#state
      const length = this.sparse ? 0 : Math.min(blocks, signedLength)
      return { key: this.key, length, signedLength, treeHash }
    }
    const core = open.core
    const signedLength = core.length
    return {
      key: this.key,
      length: this.sparse ? 0 : Math.min(core.contiguousLength, signedLength),
      signedLength,
      treeHash: await treeHashAt(core, signedLength),
    }
  }

  /**
   * The offer of the blocks holding entries `[0, entries)` only (a prefix is all a peer may have of
   * it); the signed length and tree hash stay the core's, which the peer verifies against.
   */
  async offerUpTo(entries: number): Promise<FeedOffer> {
    return this.#using(async (open) => {
      const core = open.core
      const blocks = await open.index.blocksFor(Math.min(entries, open.index.length))
      const signedLength = core.length
      return {
        key: this.key,
        length: Math.min(blocks, core.contiguousLength, signedLength),
        signedLength,
        treeHash: await treeHashAt(core, signedLength),
      }
    })
  }

  /** The index record this feed would be stored with now (closed: its state as it is). */
  record(open: boolean): FeedRecord {
    const record: FeedRecord = { key: this.key, name: this.name ?? null, state: this.#state, open }
    if (this.sparse) record.sparse = this.sparse
    return record
  }

  /** Stores `record(open)` in the index. */
  async persist(open: boolean): Promise<void> {
    // Until a record saying "closed" is stored, the one stored may say either.
    if (!open) this.#listedOpen = false
    const state = this.#state
    await this.#host.persist(this.ordinal, this.record(open))
    if (open && this.#state === state) this.#listedOpen = true
  }

  /**
   * Opens the core (when closed) and keeps it open until the lease is released. `changing`: the
   * holder may add blocks (a download): the index record says "open" first, so a crash before the
   * core closes again makes the next open read its state from the core.
   */
  async lease(changing: boolean): Promise<CoreLease> {
    this.#checkOpen()
    this.#hold()
    try {
      const open = await this.#openCore()
      if (changing) await this.#markChanging(open)
      let released = false
      return {
        core: open.core,
        release: () => {
          if (released) return
          released = true
          this.#unhold()
        },
      }
    } catch (err) {
      this.#unhold()
      throw err
    }
  }

  /**
   * While the returned release is not called, and `core` (a lease's) stays open: every upgrade
   * Hypercore asks a peer for asks for that peer's newest block too (its latest-block request),
   * so a block a live peer appends arrives in one round trip, with the proof of the length it
   * makes. Null when `core` is no longer the feed's open core. Only for a feed taken whole: the
   * newest block is past any prefix.
   */
  followLatest(core: Hypercore): (() => void) | null {
    const open = this.#open
    if (open === null || open.core !== core || this.#closed) return null
    if (open.latest++ === 0) void core.setAlwaysLatestBlock(true).catch(safetyCatch)
    let released = false
    return () => {
      if (released) return
      released = true
      if (this.#open === open && --open.latest === 0) void core.setAlwaysLatestBlock(false).catch(safetyCatch)
    }
  }

  /**
   * Block `index` is stored and here are its bytes (a candidate's first block, just verified): the
   * next opening of the core caches it instead of reading it back.
   */
  prime(index: number, raw: Buffer): void {
    this.#primed = { index, raw }
  }

  /**
   * Runs `read` on the feed's core: the open one, or — when it is closed — a session of its own
   * that does not replicate the core, closed after. For a read a peer asked for (a tree request):
   * opening the feed's own session would open a core channel on every connection, one a peer
   * that does not hold the feed yet turns down.
   */
  async peek<R>(read: (core: Hypercore) => Promise<R>): Promise<R> {
    this.#checkOpen()
    if (this.#open !== null || this.#opening !== null) {
      const lease = await this.lease(false)
      try {
        return await read(lease.core)
      } finally {
        lease.release()
      }
    }
    const core = this.#host.openCore(this.key, this.name !== undefined, false)
    try {
      await core.ready()
      return await read(core)
    } catch (err) {
      throw coreError(err)
    } finally {
      await core.close().catch(safetyCatch)
    }
  }

  /**
   * The state in the index may be behind the core (it was open when the process ended): opens the
   * core, reads its state, and stores it.
   */
  async recover(): Promise<void> {
    const lease = await this.lease(true)
    lease.release()
  }

  append(value: T | T[]): Promise<number>
  append(value: T | T[], cb: Callback<number>): void
  append(value: T | T[], cb?: Callback<number>): Promise<number> | void {
    return withCallback(this.#appendNow(value), cb)
  }

  get(seq: number): Promise<T>
  get(seq: number, cb: Callback<T>): void
  get(seq: number, cb?: Callback<T>): Promise<T> | void {
    return withCallback(this.#getNow(seq), cb)
  }

  getBatch(start: number, end: number): Promise<T[]>
  getBatch(start: number, end: number, cb: Callback<T[]>): void
  getBatch(start: number, end: number, cb?: Callback<T[]>): Promise<T[]> | void {
    return withCallback(this.#getBatchNow(start, end), cb)
  }

  /**
   * Brings `length` up to the core's contiguous blocks now; rejects when a block is invalid
   * (replication uses it to refuse a feed whose writer signed garbage).
   */
  update(): Promise<void>
  update(cb: Callback<void>): void
  update(cb?: Callback<void>): Promise<void> | void {
    return withCallback(this.#updateNow(), cb)
  }

  async #getBatchNow(start: number, end: number): Promise<T[]> {
    checkSeq(start, 'start')
    checkSeq(end, 'end')
    if (end < start) throw KappaError.invalid('end must not be below start')
    this.#checkOpen()
    if (start < this.start) throw this.#belowStart(start)
    if (end > this.length) {
      throw KappaError.notFound(`entries up to ${end} are not stored locally (length ${this.length})`)
    }
    if (end === start) return []
    const entries = await this.#using((open) => open.index.entries(start, end))
    // A peer's entries pass the checks our own passed when written (one of them failing fails the
    // batch, as an undecodable one does: callers that skip such entries read one at a time).
    if (this.name === undefined) for (const bytes of entries) this.#checkRemote(bytes)
    return decodeAll(this.#codec, entries, (bytes) => this.#decode(bytes))
  }

  treeHash(entries: number): Promise<Buffer | null>
  treeHash(entries: number, cb: Callback<Buffer | null>): void
  treeHash(entries: number, cb?: Callback<Buffer | null>): Promise<Buffer | null> | void {
    return withCallback(this.#treeHashNow(entries), cb)
  }

  async #treeHashNow(entries: number): Promise<Buffer | null> {
    checkSeq(entries, 'entries')
    this.#checkOpen()
    // A sparse feed holds neither the blocks nor, in general, the tree nodes below its start.
    if (entries > this.length || (this.sparse && entries > 0 && entries <= this.start)) return null
    return this.#using(async (open) => {
      try {
        return Buffer.from(await open.core.treeHash(await open.index.blocksFor(entries)))
      } catch (err) {
        throw coreError(err)
      }
    })
  }

  /**
   * Frees every stored block of the feed (a blocked feed's `drop`): its length is 0 afterwards, and
   * the index record says so once the core closes.
   */
  async dropBlocks(): Promise<void> {
    const lease = await this.lease(true)
    try {
      const core = lease.core
      try {
        if (core.length > 0) await core.clear(0, core.length)
      } catch (err) {
        throw coreError(err)
      }
      this.#open?.index.reset()
      this.#state = { ...this.#state, blocks: this.startBlock, length: this.start }
    } finally {
      lease.release()
    }
  }

  refuseAppends(err: KappaError | null): void {
    this.#refusal = err
  }

  async signingKeyPair(): Promise<{ publicKey: Buffer; secretKey: Buffer } | null> {
    this.#checkOpen()
    if (this.name === undefined) return null
    return this.#using(async (open) => {
      const pair = open.core.keyPair as { publicKey: Buffer; secretKey: Buffer | null } | null
      return pair && pair.secretKey ? { publicKey: pair.publicKey, secretKey: pair.secretKey } : null
    })
  }

  createReadStream(opts: FeedReadStreamOptions = {}): Readable {
    return createFeedReadStream(this, opts)
  }

  async #updateNow(): Promise<void> {
    this.#checkOpen()
    // A closed core has not changed since it closed: its state is current.
    if (this.#open === null) return
    await this.#using(async () => {
      while (this.#refreshing) await this.#refreshing
      await this.#refreshNow()
    })
  }

  /** Closes the core (its state stored in the index); further calls reject with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#clearIdle()
    try {
      await settled(this.#opening)
      await this.#closingCore
      await this.#batcher.drained()
      const open = this.#open
      if (open) await this.#closeCore(open)
    } finally {
      this.emit('close')
    }
  }

  async #appendNow(value: T | T[]): Promise<number> {
    const values = Array.isArray(value) ? value : [value]
    const entries = values.map((v) => encodeValue(this.#codec, v))
    this.#checkOpen()
    if (this.name === undefined) throw KappaError.invalid('feed is not writable (not one of our writers)')
    this.#host.checkNotBlocked(this.key)
    if (this.#refusal) throw this.#refusal
    // The reserved seqs come next: an append would take them.
    if (this.#reservedEnd > this.length) {
      throw KappaError.invalid(`seqs ${this.length}…${this.#reservedEnd - 1} are reserved: append them first`)
    }
    if (entries.length === 0) return this.length
    for (const entry of entries) checkEntrySize(entry.byteLength)
    return this.#batcher.push(entries)
  }

  async #appendReservedNow(seq: number, values: T[]): Promise<number> {
    checkSeq(seq, 'seq')
    if (!Array.isArray(values) || values.length === 0)
      throw KappaError.invalid('values must be a non-empty array')
    const entries = values.map((v) => encodeValue(this.#codec, v))
    this.#checkOpen()
    this.#host.checkNotBlocked(this.key)
    if (this.#refusal) throw this.#refusal
    // One at a time, in seq order: each lands exactly where it was reserved, or fails whole.
    if (seq !== this.length || this.#appendingEnd !== 0 || !this.#batcher.idle) {
      throw KappaError.invalid(`reserved seq ${seq} is not next to append (length ${this.length})`)
    }
    if (seq + entries.length > this.#reservedEnd) {
      throw KappaError.invalid(`seqs ${seq}…${seq + entries.length - 1} are not all reserved`)
    }
    for (const entry of entries) checkEntrySize(entry.byteLength)
    this.#appendingEnd = seq + entries.length
    try {
      await this.#writeEntries(entries)
    } finally {
      this.#appendingEnd = 0
    }
    return seq
  }

  async #writeEntries(entries: Uint8Array[]): Promise<void> {
    this.#checkOpen()
    const lease = await this.lease(true)
    try {
      await this.#writeTo(lease.core, entries)
    } finally {
      lease.release()
    }
  }

  async #writeTo(core: Hypercore, entries: Uint8Array[]): Promise<void> {
    const index = this.#open!.index
    const first = index.length
    const blocks = encodeBlocks(first, entries)
    // Refused before Hypercore's storage sees it: a write that fails there fails every later one.
    const space = this.#space(core)
    if (space) {
      let bytes = 0
      for (const block of blocks) bytes += block.byteLength
      await space.check(bytes, 'the feed cannot be appended to')
    }
    let result: { length: number }
    try {
      result = await core.append(blocks)
    } catch (err) {
      throw coreError(err)
    }
    const firsts = blocks.map((block) => decodeBlockHeader(block).first)
    const grew = first + entries.length > index.length
    index.appended(result.length - blocks.length, firsts, first + entries.length, entries)
    if (grew) this.emit('append')
  }

  /** The free space of the file system the core is stored on (null when it has no directory). */
  #space(core: Hypercore): FreeSpace | null {
    if (this.#freeSpace === undefined) {
      const dir = storageDirectory(core)
      this.#freeSpace = dir !== null ? new FreeSpace(dir, this.#host.minFreeBytes) : null
    }
    return this.#freeSpace
  }

  async #getNow(seq: number): Promise<T> {
    checkSeq(seq, 'seq')
    this.#checkOpen()
    if (seq < this.start) throw this.#belowStart(seq)
    if (seq >= this.length) {
      throw KappaError.notFound(`entry ${seq} is not stored locally (length ${this.length})`)
    }
    const [bytes] = await this.#using((open) => open.index.entries(seq, seq + 1))
    if (this.name === undefined) this.#checkRemote(bytes)
    return this.#decode(bytes)
  }

  /** A seq below a sparse feed's start: never downloaded, so never stored (ERR_NOT_FOUND). */
  #belowStart(seq: number): KappaError {
    return KappaError.notFound(
      `entry ${seq} is below the feed's start ${this.start}: a sparse feed holds no entry below it`,
    )
  }

  /**
   * A peer's entry must be one we could have written: at most MAX_ENTRY_BYTES and, with the json
   * encoding, nested at most MAX_VALUE_DEPTH deep; else it is refused as undecodable
   * (`ERR_PROTOCOL`). Our own entries are not checked on reading: a store reads whatever its logs
   * hold.
   */
  #checkRemote(bytes: Uint8Array): void {
    if (bytes.byteLength > MAX_ENTRY_BYTES) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `a replicated entry of ${bytes.byteLength} bytes is larger than MAX_ENTRY_BYTES (${MAX_ENTRY_BYTES})`,
      )
    }
    if (isJsonCodec(this.#codec as Codec<unknown>) && jsonTooDeep(bytes)) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `a replicated value nests deeper than MAX_VALUE_DEPTH (${MAX_VALUE_DEPTH})`,
      )
    }
  }

  #decode(bytes: Uint8Array): T {
    try {
      return this.#codec.decode(bytes)
    } catch (err) {
      throw new KappaError('ERR_PROTOCOL', 'entry could not be decoded with this valueEncoding', {
        cause: err,
      })
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw KappaError.closed('feed')
  }

  #scheduleRefresh(): void {
    if (this.#closed || this.#open === null) return
    if (this.#refreshing) {
      this.#refreshAgain = true
      return
    }
    this.#hold()
    this.#refreshing = this.#refreshNow()
      .catch((err: unknown) => {
        if (!this.#closed) this.#onError(coreError(err))
      })
      .finally(() => {
        this.#refreshing = null
        this.#unhold()
        if (this.#refreshAgain) {
          this.#refreshAgain = false
          this.#scheduleRefresh()
        }
      })
  }

  async #refreshNow(): Promise<void> {
    // While our own append is in flight, its completion updates the index itself.
    const open = this.#open
    if (!this.#batcher.idle || this.#appendingEnd !== 0 || open === null) return
    const grew = open.grew
    const longer = await open.index.refresh()
    open.counted = grew
    if (longer) this.emit('append')
  }

  // ---- the lazily opened core -------------------------------------------------------------------

  /** Runs `read` on the open core (opening it when closed), holding it open meanwhile. */
  async #using<R>(read: (open: OpenCore) => Promise<R>): Promise<R> {
    this.#hold()
    try {
      return await read(await this.#openCore())
    } finally {
      this.#unhold()
    }
  }

  #hold(): void {
    this.#holds++
    this.#clearIdle()
  }

  #unhold(): void {
    this.#holds--
    if (this.#holds === 0 && this.#open !== null && !this.#closed) {
      this.#idleTimer = setTimeout(() => this.#closeIfIdle(), this.#host.idleTime)
      this.#idleTimer.unref()
    }
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = null
  }

  #openCore(): Promise<OpenCore> {
    if (this.#open) return Promise.resolve(this.#open)
    this.#checkOpen()
    if (!this.#opening) {
      const opening = this.#openCoreNow()
      this.#opening = opening
      const done = () => {
        if (this.#opening === opening) this.#opening = null
      }
      opening.then(done, done)
    }
    return this.#opening
  }

  async #openCoreNow(): Promise<OpenCore> {
    while (this.#closingCore) await this.#closingCore
    this.#checkOpen()
    const core = this.#host.openCore(this.key, this.name !== undefined)
    const index = new BlockIndex(core, this.sparse)
    if (this.#primed !== null) {
      index.prime(this.#primed.index, this.#primed.raw)
      this.#primed = null
    }
    try {
      await core.ready()
      // The blocks the index counted are still there: their last header need not be read again.
      if ((await index.heldEnd()) >= this.#state.blocks) index.seed(this.#state.blocks, this.#state.length)
      await index.refresh()
    } catch (err) {
      await core.close().catch(safetyCatch)
      throw coreError(err)
    }
    if (this.#closed) {
      await core.close().catch(safetyCatch)
      throw KappaError.closed('feed')
    }
    const open: OpenCore = {
      core,
      index,
      marked: null,
      grew: 0,
      counted: 0,
      latest: 0,
      onGrow: () => {
        open.grew++
        this.#scheduleRefresh()
      },
    }
    core.on('append', open.onGrow)
    core.on('download', open.onGrow)
    this.#open = open
    this.#host.coreOpened(core)
    if (this.#holds === 0) this.#idleSoon()
    return open
  }

  /** Opened by no one waiting for it any more: it closes when idle. */
  #idleSoon(): void {
    this.#holds++
    this.#unhold()
  }

  #markChanging(open: OpenCore): Promise<void> {
    if (open.marked === null) {
      // A feed just listed (admitted) is stored as "open" already.
      open.marked = this.#listedOpen ? Promise.resolve() : this.persist(true)
      // A failed mark is tried again by the next change.
      open.marked.catch(() => {
        open.marked = null
      })
    }
    return open.marked
  }

  #closeIfIdle(): void {
    this.#idleTimer = null
    const open = this.#open
    if (open === null || this.#holds > 0 || this.#closingCore || this.#closed) return
    if (!this.#batcher.idle || this.#refreshing) {
      this.#idleSoon()
      return
    }
    const closing = this.#closeCore(open).catch((err: unknown) => {
      if (!this.#closed) this.#onError(coreError(err))
    })
    this.#closingCore = closing
    void closing.then(() => {
      if (this.#closingCore === closing) this.#closingCore = null
    })
  }

  /** Reads the open core's state, stores it (when it may have changed) and closes the core. */
  async #closeCore(open: OpenCore): Promise<void> {
    const core = open.core
    const signedLength = core.length
    let treeHash: Buffer
    try {
      treeHash = await treeHashAt(core, signedLength)
    } catch {
      treeHash = this.#state.treeHash
    }
    // Taken again while its state was read: it stays open.
    if (this.#holds > 0 && !this.#closed) return
    const state: FeedState = { blocks: open.index.blocks, length: open.index.length, signedLength, treeHash }
    const changed = !sameState(state, this.#state)
    if (changed) this.#listedOpen = false
    this.#state = state
    this.#open = null
    core.off('append', open.onGrow)
    core.off('download', open.onGrow)
    // Hypercore keeps the setting on the core, which may outlive this session (a peer's channel).
    if (open.latest > 0) {
      open.latest = 0
      await core.setAlwaysLatestBlock(false).catch(safetyCatch)
    }
    try {
      if (changed || open.marked !== null) {
        await settled(open.marked)
        await this.persist(false)
      }
    } finally {
      await core.close()
    }
  }
}

/**
 * A lease on the Hypercore under one of a Multifeed's feeds, for tests and tools of the feeds layer
 * that work on raw blocks (not exported from the package).
 */
export function leaseCore(feed: Feed<unknown>, changing = true): Promise<CoreLease> {
  if (!(feed instanceof HypercoreFeed)) throw KappaError.invalid('not a feed of a Multifeed')
  return feed.lease(changing)
}

function sameState(a: FeedState, b: FeedState): boolean {
  return (
    a.blocks === b.blocks &&
    a.length === b.length &&
    a.signedLength === b.signedLength &&
    a.treeHash.equals(b.treeHash)
  )
}

function checkSeq(seq: unknown, what: string): asserts seq is number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw KappaError.invalid(`${what} must be a non-negative integer`)
  }
}
