/**
 * Maps entry seqs to Hypercore blocks. Blocks hold several entries (messages.ts), so the feed's
 * length in entries comes from the header of the last contiguous block, and `get(seq)` finds its
 * block by binary search over the blocks' first seqs. First seqs are learned lazily (from headers
 * read while searching, and from our own appends) and kept in memory; recently decoded blocks are
 * cached so a sequential read decodes each block once.
 */
import type Hypercore from 'hypercore'
import { KappaError } from '../errors.js'
import { storageError } from '../util/storage-fault.js'
import { storageReadBatch } from './dependency-internals.js'
import { decodeBlock, decodeBlockHeader, type DecodedBlock, type SparseStart } from './messages.js'

const CACHED_BLOCKS = 32
/**
 * A range read that reaches a block neither cached nor loading loads it and the blocks after it,
 * up to this many, in ONE storage read: a sequential scan pays one round trip per window instead
 * of one per block (each Hypercore `get` is a storage read batch of its own).
 */
const READ_WINDOW_BLOCKS = 16

export class BlockIndex {
  /**
   * The end of the contiguous blocks accounted for in `length`: from block 0, or, in a sparse
   * feed, from `startBlock` (nothing below it is held).
   */
  blocks: number
  /** The entry seq those blocks end at. */
  length: number
  /** The first block held (0, or a sparse feed's start block). */
  readonly startBlock: number
  /** The seq of the first entry held (0, or a sparse feed's `start`). */
  readonly start: number

  readonly #core: Hypercore
  /** firsts[i] = seq of block i's first entry, or undefined while unknown. */
  readonly #firsts: Array<number | undefined> = []
  readonly #cache = new Map<number, DecodedBlock>()
  readonly #loading = new Map<number, Promise<DecodedBlock>>()
  /** The block the last lookup landed in: sequential reads try it and its successor first. */
  #lastBlock = 0

  constructor(core: Hypercore, sparse?: SparseStart) {
    this.#core = core
    this.startBlock = sparse?.block ?? 0
    this.start = sparse?.start ?? 0
    this.blocks = this.startBlock
    this.length = this.start
    this.#lastBlock = this.startBlock
  }

  /**
   * The end of the blocks the core holds contiguously from `startBlock`: Hypercore's contiguous
   * length, or for a sparse feed (whose block 0 is missing, so that is 0) a binary search with
   * `has` over the blocks its signed length covers.
   */
  async heldEnd(): Promise<number> {
    const core = this.#core
    if (this.startBlock === 0) return core.contiguousLength
    let lo = this.startBlock
    let hi = core.length
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (await core.has(this.startBlock, mid)) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Catches up with the core's contiguous blocks. Returns true when `length` grew. */
  async refresh(): Promise<boolean> {
    const blocks = await this.heldEnd()
    if (blocks <= this.blocks) return false
    const last = await this.#load(blocks - 1)
    if (blocks <= this.blocks) return false
    const length = last.first + last.count
    this.blocks = blocks
    if (length <= this.length) return false
    this.length = length
    return true
  }

  /** Forgets every block (they were cleared from the core): length 0. */
  reset(): void {
    this.blocks = this.startBlock
    this.length = this.start
    this.#firsts.length = 0
    this.#cache.clear()
    this.#lastBlock = this.startBlock
  }

  /** Starts from what an earlier opening counted (`blocks` still held): no header is read for it. */
  seed(blocks: number, length: number): void {
    if (blocks > this.blocks) this.blocks = blocks
    if (length > this.length) this.length = length
  }

  /**
   * Records blocks we appended ourselves, so no header has to be read back; with their `entries`
   * (seqs `firsts[0]…`), the blocks are cached too: a writer's views read its new entries next.
   */
  appended(firstBlock: number, firsts: number[], length: number, entries?: Uint8Array[]): void {
    for (let i = 0; i < firsts.length; i++) {
      this.#firsts[firstBlock + i] = firsts[i]
      if (!entries) continue
      const end = i + 1 < firsts.length ? firsts[i + 1] : firsts[0] + entries.length
      const block = {
        first: firsts[i],
        count: end - firsts[i],
        entries: entries.slice(firsts[i] - firsts[0], end - firsts[0]),
      }
      this.#remember(firstBlock + i, block)
    }
    if (firstBlock + firsts.length > this.blocks) this.blocks = firstBlock + firsts.length
    if (length > this.length) this.length = length
  }

  /** Encoded values of entries `[start, end)`, which must be below `length`. */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    let seq = start
    // Blocks are contiguous: after the first, entry `seq` starts the next block.
    let index = await this.#indexOf(seq)
    while (seq < end) {
      // A single entry (random access) reads its block only; a range reads a window ahead.
      if (end - start > 1 && !this.#cache.has(index) && !this.#loading.has(index)) this.#readWindow(index)
      // A cached block needs no await (a microtask per block of a long range read).
      const block = this.#cached(index) ?? (await this.#load(index))
      if (seq < block.first || seq >= block.first + block.count) {
        throw new KappaError('ERR_PROTOCOL', `block ${index} does not hold entry ${seq}: inconsistent feed`)
      }
      this.#lastBlock = index
      const to = Math.min(end, block.first + block.count)
      for (let s = seq; s < to; s++) out.push(block.entries[s - block.first])
      seq = to
      index++
    }
    return out
  }

  /**
   * Starts loading blocks `from` … (up to READ_WINDOW_BLOCKS, not past the contiguous blocks, not
   * those cached or loading) in one storage read batch. A block the batch does not find, or a
   * failed batch, falls back to Hypercore's own `get` (which gives the errors their codes).
   */
  #readWindow(from: number): void {
    const to = Math.min(this.blocks, from + READ_WINDOW_BLOCKS)
    const indexes: number[] = []
    for (let index = from; index < to; index++) {
      if (!this.#cache.has(index) && !this.#loading.has(index)) indexes.push(index)
    }
    if (indexes.length <= 1) return
    let reads: Promise<Buffer | null>[]
    try {
      const rx = storageReadBatch(this.#core)
      if (rx === null) return
      reads = indexes.map((index) => rx.getBlock(index))
      rx.tryFlush()
    } catch {
      return
    }
    indexes.forEach((index, i) => {
      const raw = reads[i].then(
        (found) => found ?? this.#read(index),
        () => this.#read(index),
      )
      // Whoever loads the block awaits it (track handles the rejection for the cache).
      void this.#track(index, raw)
    })
  }

  /** The number of blocks that hold entries `[0, entries)` (entries ≤ length; a sparse feed: > start). */
  async blocksFor(entries: number): Promise<number> {
    if (entries <= 0) return 0
    return (await this.#indexOf(entries - 1)) + 1
  }

  async #indexOf(seq: number): Promise<number> {
    // Sequential reads: the last block, or the one after it.
    for (const guess of [this.#lastBlock, this.#lastBlock + 1]) {
      if (guess >= this.blocks) continue
      const first = await this.#firstOf(guess)
      const next = guess + 1 < this.blocks ? this.#firsts[guess + 1] : this.length
      if (first <= seq && next !== undefined && seq < next) return guess
    }
    // Every block holds at least one entry, so entry `seq` lives in a block ≤ seq (and, in a sparse
    // feed, ≥ startBlock: the caller reads no seq below `start`).
    let lo = this.startBlock
    let hi = Math.min(this.blocks - 1, seq)
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if ((await this.#firstOf(mid)) <= seq) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  async #firstOf(index: number): Promise<number> {
    const known = this.#firsts[index]
    if (known !== undefined) return known
    const cached = this.#cache.get(index)
    if (cached) return cached.first
    const raw = await this.#read(index)
    const { first } = decodeBlockHeader(raw)
    this.#firsts[index] = first
    return first
  }

  #load(index: number): Promise<DecodedBlock> {
    const cached = this.#cached(index)
    if (cached) return Promise.resolve(cached)
    return this.#loading.get(index) ?? this.#track(index, this.#read(index))
  }

  /** Block `index` if it is cached (its place in the LRU order refreshed). */
  #cached(index: number): DecodedBlock | undefined {
    const cached = this.#cache.get(index)
    if (cached) {
      this.#cache.delete(index)
      this.#cache.set(index, cached)
    }
    return cached
  }

  /**
   * Caches block `index` from `raw`, its bytes in hand (a block just downloaded and verified): it
   * is not read back. Bytes that do not decode are not cached (reading the block reports them).
   */
  prime(index: number, raw: Uint8Array): void {
    let block: DecodedBlock
    try {
      block = decodeBlock(raw)
    } catch {
      return
    }
    this.#firsts[index] = block.first
    this.#remember(index, block)
  }

  #remember(index: number, block: DecodedBlock): void {
    this.#cache.set(index, block)
    if (this.#cache.size > CACHED_BLOCKS) this.#cache.delete(this.#cache.keys().next().value as number)
  }

  /** Decodes and caches block `index` once `raw` arrives; until then loads of it share this. */
  #track(index: number, raw: Promise<Buffer>): Promise<DecodedBlock> {
    const pending = raw.then((bytes) => {
      const block = decodeBlock(bytes)
      this.#firsts[index] = block.first
      this.#remember(index, block)
      return block
    })
    // Inline arrows, not a named one: tsx names every named closure it creates, per block here.
    pending.then(
      () => this.#loading.delete(index),
      () => this.#loading.delete(index),
    )
    this.#loading.set(index, pending)
    return pending
  }

  async #read(index: number): Promise<Buffer> {
    let raw: Buffer | null
    try {
      raw = await this.#core.get(index, { wait: false })
    } catch (err) {
      throw coreError(err)
    }
    if (raw === null) throw KappaError.notFound(`block ${index} is not stored locally`)
    return raw
  }
}

/** Hypercore's own errors carry string codes of their own; give them ours. */
export function coreError(err: unknown): KappaError {
  if (err instanceof KappaError) return err
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'SESSION_CLOSED' || code === 'REQUEST_CANCELLED') {
    return new KappaError('ERR_CLOSED', 'feed is closed', { cause: err })
  }
  // The message names the cause (ENOSPC, EACCES, …), which RocksDB's own message leaves to its cause.
  return storageError('the feed storage failed', err)
}
