/**
 * `ViewIterator`: a range read of a `ViewDb` — `viewDb.iterator(range)`, `keys(range)`,
 * `values(range)` — in key order, that inside `map` sees the batch's staged writes merged with the
 * committed data (a staged put shows its value, a staged del hides the key), and outside reads
 * committed data only. Which of the two is decided when the read is made, as for `get`.
 */
import { KappaError } from '../errors.js'
import { keyBytes, stored, type LevelSublevel, type StagedKey } from './view-batch.js'
import type { ViewChanges } from './view-changes.js'
import { inRange, levelRange, rangeBounds, type KeyRange } from './view-range.js'
import { markHandled, settled } from '../util/errors.js'

export interface ViewRangeOptions<K = string> extends KeyRange<K> {
  /** Descending key order. */
  reverse?: boolean
  /** Most rows (default: no limit; -1 too). */
  limit?: number
  keyEncoding?: string
  valueEncoding?: string
}

/** The part of an abstract-level iterator a range read uses. */
interface LevelIterator {
  nextv(size: number): Promise<Array<[unknown, unknown]>>
  close(): Promise<void>
}

type Row = [key: unknown, value: unknown]

/** Rows read from the database per step. */
const CHUNK = 256

export class ViewIterator<R> implements AsyncIterableIterator<R> {
  readonly #level: LevelSublevel
  readonly #opts: ViewRangeOptions<unknown>
  readonly #pick: (key: unknown, value: unknown) => R
  /** The staged keys in range, in read order. */
  readonly #staged: StagedKey[]
  #stagedAt = 0
  readonly #iterator: Promise<LevelIterator>
  #buffer: Row[] = []
  #bufferAt = 0
  #exhausted = false
  readonly #limit: number
  #emitted = 0
  #closed = false
  #started = false
  #queue: Promise<unknown> = Promise.resolve()

  /** Made by `ViewDb`. */
  constructor(
    level: LevelSublevel,
    changes: ViewChanges,
    staged: StagedKey[],
    opts: ViewRangeOptions<unknown>,
    pick: (key: unknown, value: unknown) => R,
  ) {
    checkOptions(opts)
    this.#level = level
    this.#opts = opts
    this.#pick = pick
    this.#limit = opts.limit === undefined || opts.limit < 0 ? Infinity : opts.limit
    const bounds = rangeBounds(level, opts, opts.keyEncoding)
    const inRangeKeys = staged.filter((key) => inRange(key.bytes, bounds))
    this.#staged = opts.reverse ? inRangeKeys.reverse() : inRangeKeys
    const levelOpts: Record<string, unknown> = { ...levelRange(opts), reverse: opts.reverse === true }
    // With nothing staged the database applies the limit; otherwise staged deletes may hide rows.
    if (this.#staged.length === 0 && this.#limit !== Infinity) levelOpts.limit = this.#limit
    if (opts.keyEncoding) levelOpts.keyEncoding = opts.keyEncoding
    if (opts.valueEncoding) levelOpts.valueEncoding = opts.valueEncoding
    // Created synchronously, right after any commit in flight (see view-changes.ts).
    this.#iterator = new Promise<LevelIterator>((resolve, reject) =>
      changes.whenSettled(() => {
        try {
          resolve((level as unknown as { iterator(o: object): LevelIterator }).iterator(levelOpts))
          this.#started = true
        } catch (err) {
          reject(err as Error)
        }
      }),
    )
    markHandled(this.#iterator) // reported by next()
  }

  /**
   * True once the read's snapshot of committed data is taken (at the call, or right after the
   * commit in flight then). A watch event heard while it is false is already in what this reads.
   */
  get started(): boolean {
    return this.#started
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  /** The next row; calls are served one after another. */
  next(): Promise<IteratorResult<R, undefined>> {
    const result = this.#queue.then(() => this.#next())
    this.#queue = settled(result)
    return result
  }

  /** Every remaining row; closes the iterator. */
  async all(): Promise<R[]> {
    const rows: R[] = []
    try {
      for (let r = await this.next(); !r.done; r = await this.next()) rows.push(r.value)
    } finally {
      await this.close()
    }
    return rows
  }

  async return(): Promise<IteratorResult<R, undefined>> {
    await this.close()
    return { done: true, value: undefined }
  }

  /** Releases the database iterator. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const iterator = await this.#iterator.catch(() => null)
    await iterator?.close()
  }

  async #next(): Promise<IteratorResult<R, undefined>> {
    while (!this.#closed && this.#emitted < this.#limit) {
      const row = await this.#peek()
      const staged = this.#staged[this.#stagedAt]
      if (!staged) {
        if (!row) break
        this.#bufferAt++
        return this.#emit(row[0], row[1])
      }
      let order = 1 // > 0: the staged key comes first
      if (row) {
        const bytes = keyBytes(this.#level, row[0], this.#opts.keyEncoding)
        order = bytes === staged.bytes ? 0 : bytes < staged.bytes !== (this.#opts.reverse === true) ? -1 : 1
      }
      if (order < 0) {
        this.#bufferAt++
        return this.#emit(row![0], row![1])
      }
      // The staged state of the key wins over the committed row of the same key.
      if (order === 0) this.#bufferAt++
      this.#stagedAt++
      const { op } = staged
      if (op.type === 'del') continue
      const { keyEncoding, valueEncoding } = this.#opts
      return this.#emit(
        stored(this.#level, 'keyEncoding', op.key, op.keyEncoding, keyEncoding),
        stored(this.#level, 'valueEncoding', op.value, op.valueEncoding, valueEncoding),
      )
    }
    await this.close()
    return { done: true, value: undefined }
  }

  #emit(key: unknown, value: unknown): IteratorResult<R, undefined> {
    this.#emitted++
    return { done: false, value: this.#pick(key, value) }
  }

  /** The next committed row, read in chunks; undefined at the end. */
  async #peek(): Promise<Row | undefined> {
    if (this.#bufferAt < this.#buffer.length) return this.#buffer[this.#bufferAt]
    if (this.#exhausted) return undefined
    const iterator = await this.#iterator
    this.#buffer = await iterator.nextv(CHUNK)
    this.#bufferAt = 0
    if (this.#buffer.length === 0) this.#exhausted = true
    return this.#buffer[0]
  }
}

function checkOptions(opts: unknown): void {
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('range options must be an object')
  const { limit, reverse } = opts as ViewRangeOptions<unknown>
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit))) {
    throw KappaError.invalid('range.limit must be an integer')
  }
  if (reverse !== undefined && typeof reverse !== 'boolean') {
    throw KappaError.invalid('range.reverse must be a boolean')
  }
}
