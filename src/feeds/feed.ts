/**
 * `HypercoreFeed`: the `Feed` contract (types.ts) over one Hypercore whose blocks pack several
 * entries (messages.ts). Seqs, `length`, `get` and `getBatch` count entries, never blocks.
 */
import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type Hypercore from 'hypercore'
import { KappaError } from '../errors.js'
import { withCallback, type Callback } from '../util/callback.js'
import { FreeSpace } from '../util/storage-fault.js'
import { AppendBatcher } from './append-batcher.js'
import { BlockIndex, coreError } from './block-index.js'
import { MAX_ENTRY_BYTES, MAX_VALUE_DEPTH, checkEntrySize, jsonTooDeep } from './limits.js'
import { encodeBlocks, decodeBlockHeader } from './messages.js'
import { createFeedReadStream, type FeedReadStreamOptions } from './read-stream.js'
import type { Codec, Feed, FeedEvents, FeedKey } from './types.js'
import { decodeAll, encodeValue, isJsonCodec } from './value-encoding.js'

export class HypercoreFeed<T = unknown> extends EventEmitter<FeedEvents> implements Feed<T> {
  /** The Hypercore itself (its blocks are packed entries, see messages.ts). */
  readonly core: Hypercore
  readonly name: string | undefined
  private readonly codec: Codec<T>
  private readonly index: BlockIndex
  private readonly batcher: AppendBatcher
  private readonly onError: (err: Error) => void
  private refreshing: Promise<void> | null = null
  private refreshAgain = false
  private _closed = false
  private _id: FeedKey | null = null
  private freeSpace: FreeSpace | null | undefined = undefined
  /** The end of the reserved seqs (`length` or below: none reserved). */
  private reservedEnd = 0
  /** The end of the reserved entries being appended now (0: no `appendReserved` in flight). */
  private appendingEnd = 0

  constructor(core: Hypercore, codec: Codec<T>, name: string | undefined, onError: (err: Error) => void) {
    super()
    this.core = core
    this.codec = codec
    this.name = name
    this.onError = onError
    this.index = new BlockIndex(core)
    this.batcher = new AppendBatcher(
      (entries) => this.writeEntries(entries),
      () => this.index.length,
    )
  }

  /** Opens the core and reads its length; the feed is handed out only after this. */
  async open(): Promise<void> {
    try {
      await this.core.ready()
      await this.index.refresh()
    } catch (err) {
      throw coreError(err)
    }
    const onGrow = () => this.scheduleRefresh()
    this.core.on('append', onGrow)
    this.core.on('download', onGrow)
  }

  get key(): Buffer {
    return this.core.key
  }

  get id(): FeedKey {
    if (this._id === null) this._id = this.core.key.toString('hex') as FeedKey
    return this._id
  }

  get discoveryKey(): Buffer {
    return this.core.discoveryKey
  }

  get length(): number {
    return this.index.length
  }

  /** Blocks (not entries) held contiguously: what replication advertises and downloads. */
  get blockLength(): number {
    return this.index.blocks
  }

  get reservedLength(): number {
    return Math.max(this.reservedEnd, this.index.length)
  }

  reserve(count: number): number {
    if (!Number.isSafeInteger(count) || count <= 0)
      throw KappaError.invalid('count must be a positive integer')
    this.checkOpen()
    if (!this.core.writable) throw KappaError.invalid('feed is not writable (not one of our writers)')
    if (!this.batcher.idle) throw KappaError.invalid('seqs cannot be reserved while an append is in flight')
    const first = this.reservedLength
    this.reservedEnd = first + count
    return first
  }

  unreserve(seq: number): void {
    checkSeq(seq, 'seq')
    const floor = Math.max(this.index.length, this.appendingEnd)
    if (seq < floor || seq > this.reservedLength) {
      throw KappaError.invalid(
        `seqs from ${seq} are not reserved (reserved: [${floor}, ${this.reservedLength}))`,
      )
    }
    this.reservedEnd = seq
  }

  appendReserved(seq: number, values: T[]): Promise<number> {
    return this.appendReservedNow(seq, values)
  }

  get writable(): boolean {
    return this.core.writable && !this._closed
  }

  get closed(): boolean {
    return this._closed
  }

  append(value: T | T[]): Promise<number>
  append(value: T | T[], cb: Callback<number>): void
  append(value: T | T[], cb?: Callback<number>): Promise<number> | void {
    return withCallback(this.appendNow(value), cb)
  }

  get(seq: number): Promise<T>
  get(seq: number, cb: Callback<T>): void
  get(seq: number, cb?: Callback<T>): Promise<T> | void {
    return withCallback(this.getNow(seq), cb)
  }

  getBatch(start: number, end: number): Promise<T[]>
  getBatch(start: number, end: number, cb: Callback<T[]>): void
  getBatch(start: number, end: number, cb?: Callback<T[]>): Promise<T[]> | void {
    return withCallback(this.getBatchNow(start, end), cb)
  }

  /**
   * Brings `length` up to the core's contiguous blocks now; rejects when a block is invalid
   * (replication uses it to refuse a feed whose writer signed garbage).
   */
  update(): Promise<void>
  update(cb: Callback<void>): void
  update(cb?: Callback<void>): Promise<void> | void {
    return withCallback(this.updateNow(), cb)
  }

  private async getBatchNow(start: number, end: number): Promise<T[]> {
    checkSeq(start, 'start')
    checkSeq(end, 'end')
    if (end < start) throw KappaError.invalid('end must not be below start')
    this.checkOpen()
    if (end > this.index.length) {
      throw KappaError.notFound(`entries up to ${end} are not stored locally (length ${this.index.length})`)
    }
    const entries = await this.index.entries(start, end)
    // A peer's entries pass the checks our own passed when written (one of them failing fails the
    // batch, as an undecodable one does: callers that skip such entries read one at a time).
    if (!this.core.writable) for (const bytes of entries) this.checkRemote(bytes)
    return decodeAll(this.codec, entries, (bytes) => this.decode(bytes))
  }

  createReadStream(opts: FeedReadStreamOptions = {}): Readable {
    return createFeedReadStream(this, opts)
  }

  private async updateNow(): Promise<void> {
    while (this.refreshing) await this.refreshing
    await this.refreshNow()
  }

  /** Closes the core session; further calls reject with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this._closed) return
    this._closed = true
    try {
      await this.core.close()
    } finally {
      this.emit('close')
    }
  }

  private async appendNow(value: T | T[]): Promise<number> {
    const values = Array.isArray(value) ? value : [value]
    const entries = values.map((v) => encodeValue(this.codec, v))
    this.checkOpen()
    if (!this.core.writable) throw KappaError.invalid('feed is not writable (not one of our writers)')
    // The reserved seqs come next: an append would take them.
    if (this.reservedEnd > this.index.length) {
      throw KappaError.invalid(
        `seqs ${this.index.length}…${this.reservedEnd - 1} are reserved: append them first`,
      )
    }
    if (entries.length === 0) return this.index.length
    for (const entry of entries) checkEntrySize(entry.byteLength)
    return this.batcher.push(entries)
  }

  private async appendReservedNow(seq: number, values: T[]): Promise<number> {
    checkSeq(seq, 'seq')
    if (!Array.isArray(values) || values.length === 0)
      throw KappaError.invalid('values must be a non-empty array')
    const entries = values.map((v) => encodeValue(this.codec, v))
    this.checkOpen()
    // One at a time, in seq order: each lands exactly where it was reserved, or fails whole.
    if (seq !== this.index.length || this.appendingEnd !== 0 || !this.batcher.idle) {
      throw KappaError.invalid(`reserved seq ${seq} is not next to append (length ${this.index.length})`)
    }
    if (seq + entries.length > this.reservedEnd) {
      throw KappaError.invalid(`seqs ${seq}…${seq + entries.length - 1} are not all reserved`)
    }
    for (const entry of entries) checkEntrySize(entry.byteLength)
    this.appendingEnd = seq + entries.length
    try {
      await this.writeEntries(entries)
    } finally {
      this.appendingEnd = 0
    }
    return seq
  }

  private async writeEntries(entries: Uint8Array[]): Promise<void> {
    this.checkOpen()
    const first = this.index.length
    const blocks = encodeBlocks(first, entries)
    // Refused before Hypercore's storage sees it: a write that fails there fails every later one.
    const space = this.space()
    if (space) {
      let bytes = 0
      for (const block of blocks) bytes += block.byteLength
      await space.check(bytes, 'the feed cannot be appended to')
    }
    let result: { length: number }
    try {
      result = await this.core.append(blocks)
    } catch (err) {
      throw coreError(err)
    }
    const firsts = blocks.map((block) => decodeBlockHeader(block).first)
    const grew = first + entries.length > this.index.length
    this.index.appended(result.length - blocks.length, firsts, first + entries.length, entries)
    if (grew) this.emit('append')
  }

  /** The free space of the file system the core is stored on (null when it has no directory). */
  private space(): FreeSpace | null {
    if (this.freeSpace === undefined) {
      const dir = (this.core as unknown as CoreInternals).state?.storage?.store?.path
      this.freeSpace = typeof dir === 'string' ? new FreeSpace(dir) : null
    }
    return this.freeSpace
  }

  private async getNow(seq: number): Promise<T> {
    checkSeq(seq, 'seq')
    this.checkOpen()
    if (seq >= this.index.length) {
      throw KappaError.notFound(`entry ${seq} is not stored locally (length ${this.index.length})`)
    }
    const [bytes] = await this.index.entries(seq, seq + 1)
    if (!this.core.writable) this.checkRemote(bytes)
    return this.decode(bytes)
  }

  /**
   * A peer's entry must be one we could have written: at most MAX_ENTRY_BYTES and, with the json
   * encoding, nested at most MAX_VALUE_DEPTH deep; else it is refused as undecodable
   * (`ERR_PROTOCOL`). Our own entries are not checked on reading: a store reads whatever its logs
   * hold, also what older versions wrote.
   */
  private checkRemote(bytes: Uint8Array): void {
    if (bytes.byteLength > MAX_ENTRY_BYTES) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `a replicated entry of ${bytes.byteLength} bytes is larger than MAX_ENTRY_BYTES (${MAX_ENTRY_BYTES})`,
      )
    }
    if (isJsonCodec(this.codec as Codec<unknown>) && jsonTooDeep(bytes)) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `a replicated value nests deeper than MAX_VALUE_DEPTH (${MAX_VALUE_DEPTH})`,
      )
    }
  }

  private decode(bytes: Uint8Array): T {
    try {
      return this.codec.decode(bytes)
    } catch (err) {
      throw new KappaError('ERR_PROTOCOL', 'entry could not be decoded with this valueEncoding', {
        cause: err,
      })
    }
  }

  private checkOpen(): void {
    if (this._closed) throw KappaError.closed('feed')
  }

  private scheduleRefresh(): void {
    if (this._closed) return
    if (this.refreshing) {
      this.refreshAgain = true
      return
    }
    this.refreshing = this.refreshNow()
      .catch((err: unknown) => {
        if (!this._closed) this.onError(coreError(err))
      })
      .finally(() => {
        this.refreshing = null
        if (this.refreshAgain) {
          this.refreshAgain = false
          this.scheduleRefresh()
        }
      })
  }

  private async refreshNow(): Promise<void> {
    // While our own append is in flight, its completion updates the index itself.
    if (!this.batcher.idle || this.appendingEnd !== 0) return
    if (await this.index.refresh()) this.emit('append')
  }
}

/** Where Hypercore 11 keeps the directory of its storage (hypercore-storage's store). */
interface CoreInternals {
  state?: { storage?: { store?: { path?: unknown } } }
}

function checkSeq(seq: unknown, what: string): asserts seq is number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw KappaError.invalid(`${what} must be a non-negative integer`)
  }
}
