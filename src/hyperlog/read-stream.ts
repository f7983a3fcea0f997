/**
 * `createReadStream`: nodes in change order, read in chunks (one range read of change keys and
 * one `getMany` of node records per chunk). Live streams wait for the DAG index's next commit
 * when they have caught up.
 */
import { RowReadable } from '../util/typed-readable.js'
import type { KnownNode } from './dag-indexer.js'
import { toError } from '../util/errors.js'

/** What a change stream reads from: the committed DAG index. */
export interface ChangeSource {
  /** Largest committed change number. */
  readonly changes: number
  /**
   * Nodes with `gt < change < lt`, ascending (or descending), at most `limit`; hidden ones are
   * marked `hidden` (skipped by readers, but counted in `limit`).
   */
  readChanges(range: { gt: number; lt: number; reverse: boolean; limit: number }): Promise<KnownNode[]>
  /** Calls `listener` after every commit of the DAG index; returns the unsubscribe. */
  onCommit(listener: () => void): () => void
}

export interface ChangeStreamOptions<T> {
  since: number
  /** Exclusive; `Infinity` for none. */
  until: number
  reverse: boolean
  /** `Infinity` for none. */
  limit: number
  live: boolean
  /** Start after the last change present once the log is open (`since` is then ignored). */
  tail: boolean
  /** Resolves once the log is open (its change counter loaded). */
  opened: Promise<void>
  toNode: (node: KnownNode) => T
}

const CHUNK = 256

export class ChangeStream<T> extends RowReadable<T> {
  readonly #source: ChangeSource
  readonly #opts: ChangeStreamOptions<T>
  #low: number
  #high: number
  #left: number
  #started = false
  #reading = false
  #waiting = false
  #unsubscribe: (() => void) | null = null

  constructor(source: ChangeSource, opts: ChangeStreamOptions<T>) {
    super({ objectMode: true, highWaterMark: 64 })
    this.#source = source
    this.#opts = opts
    this.#low = opts.since
    this.#high = opts.live ? Infinity : opts.until
    this.#left = opts.limit
    if (opts.live) {
      this.#unsubscribe = source.onCommit(() => {
        if (!this.#waiting) return
        this.#waiting = false
        this.#pull()
      })
    }
  }

  override _read(): void {
    this.#pull()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#unsubscribe?.()
    this.#unsubscribe = null
    cb(err)
  }

  /** Ends the stream after what it is delivering now (the log is closing). */
  finish(): void {
    this.#left = 0
    if (!this.#reading) this.#pull()
  }

  #pull(): void {
    if (this.#reading || this.destroyed) return
    if (!this.#started) {
      this.#reading = true
      this.#opts.opened.then(
        () => {
          this.#started = true
          this.#reading = false
          if (this.#opts.tail) this.#low = this.#source.changes
          this.#pull()
        },
        (err: unknown) => this.destroy(toError(err)),
      )
      return
    }
    if (this.#left <= 0) {
      this.push(null)
      return
    }
    if (this.#opts.live && this.#source.changes <= this.#low) {
      this.#waiting = true
      return
    }
    this.#reading = true
    const limit = Math.min(CHUNK, this.#left)
    this.#source
      .readChanges({ gt: this.#low, lt: this.#high, reverse: this.#opts.reverse, limit })
      .then((nodes) => this.#deliver(nodes, limit))
      .catch((err: unknown) => this.destroy(toError(err)))
  }

  #deliver(nodes: KnownNode[], asked: number): void {
    this.#reading = false
    if (this.destroyed) return
    let more = true
    for (const node of nodes) {
      if (this.#opts.reverse) this.#high = node.record.change
      else this.#low = node.record.change
      if (node.hidden) continue
      this.#left--
      more = this.push(this.#opts.toNode(node))
    }
    if (nodes.length < asked && !this.#opts.live) {
      this.push(null)
      return
    }
    if (this.#left <= 0) {
      this.push(null)
      return
    }
    if (more) this.#pull()
  }
}
