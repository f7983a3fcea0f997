/**
 * `kv.createReadStream(opts)`: one row `{ key, links, values? }` per key in key order, read in
 * chunks from the register sublevel (one iterator step and one parallel node fetch per chunk).
 * Live: subscribes as the old rows' snapshot is taken (so nothing is missed), then emits a row
 * whenever a key in range changes — as hyperkv's level-live-stream did, a key may repeat. It emits
 * `'live'` once it has pushed every stored row in range (at once with `old: false`): from then on,
 * every write in range comes as a row.
 */
import { Readable } from 'node:stream'
import type { NodeHash } from '../hyperlog/index.js'
import type { RegisterEntry } from './messages.js'
import type { KvAnyReadRow, KvDocs, KvValues } from './types.js'
import type { ReadStreamSettings } from './validate.js'

/** What the stream needs from HyperKV. */
export interface RegisterSource {
  assertOpen(): void
  ready(): Promise<void>
  isClosed(): boolean
  iterator(options: ReadStreamSettings['range'] & { limit: number }): RegisterIterator
  decode(bytes: Uint8Array): RegisterEntry[]
  values(entries: readonly RegisterEntry[], fields: boolean): Promise<KvValues | KvDocs>
  /** Calls `listener` with each register a committed batch wrote; returns the unsubscribe function. */
  subscribe(listener: (key: string, entries: RegisterEntry[]) => void): () => void
}

/** The part of an abstract-level iterator the stream uses. */
export interface RegisterIterator {
  nextv(size: number): Promise<[string, Uint8Array][]>
  close(): Promise<void>
}

const CHUNK = 128

export function createKvReadStream(source: RegisterSource, settings: ReadStreamSettings): Readable {
  return new KvReadStream(source, settings)
}

class KvReadStream extends Readable {
  readonly #source: RegisterSource
  readonly #settings: ReadStreamSettings
  #iterator: RegisterIterator | null = null
  #unsubscribe: (() => void) | null = null
  /** Registers committed since the stream subscribed, not pushed yet. */
  readonly #updates: [string, RegisterEntry[]][] = []
  #busy = false
  #waitingForUpdate = false
  #emitted = 0
  #live = false

  constructor(source: RegisterSource, settings: ReadStreamSettings) {
    super({ objectMode: true, highWaterMark: 64 })
    this.#source = source
    this.#settings = settings
  }

  override _construct(cb: (err?: Error | null) => void): void {
    try {
      this.#source.assertOpen()
    } catch (err) {
      cb(err as Error)
      return
    }
    this.#source.ready().then(
      () => {
        // Subscribing and opening the iterator in one step: no write falls between the two.
        if (this.#settings.live) {
          this.#unsubscribe = this.#source.subscribe((key, entries) => this.#onUpdate(key, entries))
        }
        if (this.#settings.old || !this.#settings.live) {
          this.#iterator = this.#source.iterator({ ...this.#settings.range, limit: this.#settings.limit })
        }
        cb()
        if (!this.#iterator) this.#goLive()
      },
      (err: Error) => cb(err),
    )
  }

  override _read(): void {
    if (this.#busy) return
    this.#busy = true
    this.#next().then(
      (rows) => {
        this.#busy = false
        if (rows === null) {
          this.push(null)
          return
        }
        for (const row of rows) this.#push(row)
      },
      (err: Error) => {
        this.#busy = false
        this.destroy(err)
      },
    )
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#unsubscribe?.()
    this.#unsubscribe = null
    const iterator = this.#iterator
    this.#iterator = null
    if (!iterator) {
      cb(err)
      return
    }
    iterator.close().then(
      () => cb(err),
      () => cb(err),
    )
  }

  /** The next rows to push; `[]` when waiting for a live update; null at the end. */
  async #next(): Promise<KvAnyReadRow[] | null> {
    if (this.#limitReached()) return null
    if (this.#iterator) {
      const chunk = await this.#iterator.nextv(CHUNK)
      if (chunk.length > 0) {
        return Promise.all(chunk.map(([key, bytes]) => this.#row(key, this.#source.decode(bytes))))
      }
      const iterator = this.#iterator
      this.#iterator = null
      await iterator.close()
      if (!this.#settings.live) return null
      this.#goLive()
    }
    if (this.#source.isClosed()) return null
    const update = this.#updates.shift()
    if (update) return [await this.#row(update[0], update[1])]
    this.#waitingForUpdate = true
    return []
  }

  /** Whether `'live'` was emitted. */
  get live(): boolean {
    return this.#live
  }

  /** Live, every stored row pushed: `'live'`, once. */
  #goLive(): void {
    if (this.#live || !this.#settings.live || this.destroyed) return
    this.#live = true
    this.emit('live')
  }

  #push(row: KvAnyReadRow): void {
    if (this.#limitReached() || this.destroyed) return
    this.#emitted++
    this.push(row)
    if (this.#limitReached()) this.push(null)
  }

  #limitReached(): boolean {
    return this.#settings.limit >= 0 && this.#emitted >= this.#settings.limit
  }

  #onUpdate(key: string, entries: RegisterEntry[]): void {
    if (this.#source.isClosed()) {
      this.#unsubscribe?.()
      this.#unsubscribe = null
    } else if (inRange(key, this.#settings.range)) {
      this.#updates.push([key, entries])
    } else return
    if (this.#waitingForUpdate) {
      this.#waitingForUpdate = false
      this._read()
    }
  }

  async #row(key: string, entries: RegisterEntry[]): Promise<KvAnyReadRow> {
    const links = entries.map((entry) => entry.key as NodeHash)
    if (!this.#settings.values) return { key, links }
    return { key, links, values: await this.#source.values(entries, this.#settings.fields) } as KvAnyReadRow
  }
}

function inRange(key: string, range: ReadStreamSettings['range']): boolean {
  if (range.gt !== undefined && !(key > range.gt)) return false
  if (range.gte !== undefined && !(key >= range.gte)) return false
  if (range.lt !== undefined && !(key < range.lt)) return false
  if (range.lte !== undefined && !(key <= range.lte)) return false
  return true
}
