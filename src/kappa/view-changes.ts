/**
 * `ViewChanges`: the writes of one levelView as they are committed — a view batch with its
 * position, or a write made straight to the database — told to the `ViewWatch`es of its `ViewDb`s
 * right after the commit, synchronously. One per levelView, shared by its `ViewDb` and sublevels.
 *
 * It also keeps committed reads consistent with the watches: a range read that starts while a
 * commit is in flight starts right after it (after its watches were told), so "what a read saw"
 * and "what a watch was told before the read began" never overlap or leave a gap.
 */
import { EventEmitter } from 'node:events'
import { KappaError } from '../errors.js'
import { aimsAt, keyBytes, stored, type LevelSublevel, type StagedOperation } from './view-batch.js'
import { inRange, rangeBounds, type KeyRange, type RangeBounds } from './view-range.js'

/** One committed write, as a committed read would return its key and value. */
export type ViewChange<K = string, V = unknown> = { type: 'put'; key: K; value: V } | { type: 'del'; key: K }

export interface ViewWatchEvents<K, V> {
  /** The writes in range of one commit, in the order they were made (a key may appear twice). */
  change: [changes: ViewChange<K, V>[]]
}

export interface WatchOptions<K> extends KeyRange<K> {
  keyEncoding?: string
  valueEncoding?: string
}

/**
 * A watch: the events a view sends after its commits, until `close()`. `ViewWatch` (a `viewDb`'s
 * writes) and the view helpers' watches are this with their own events.
 */
export class Watch<E extends Record<keyof E, unknown[]>> extends EventEmitter<E> {
  readonly #stop: () => void
  #closed = false

  /** `stop` detaches the watch from what feeds it. */
  constructor(stop: () => void) {
    super()
    this.#stop = stop
  }

  get closed(): boolean {
    return this.#closed
  }

  /** No more events. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#stop()
  }
}

/** `viewDb.watch(range?)`: `'change'` after every commit that wrote keys in range; `close()` stops it. */
export class ViewWatch<K = string, V = unknown> extends Watch<ViewWatchEvents<K, V>> {}

interface Watcher {
  level: LevelSublevel
  bounds: RangeBounds
  keyEncoding: string | undefined
  valueEncoding: string | undefined
  watch: ViewWatch<unknown, unknown>
}

export class ViewChanges {
  #committing = 0
  #afterCommits: Array<() => void> = []
  readonly #watchers = new Set<Watcher>()

  /** Runs `write` (the commit of `ops`) and tells the watches once it succeeded. */
  async commit(ops: readonly StagedOperation[], write: () => Promise<void>): Promise<void> {
    this.#committing++
    let written = false
    try {
      await write()
      written = true
    } finally {
      this.#committing--
      if (written && this.#watchers.size > 0) this.#tell(ops)
      if (this.#committing === 0) for (const fn of this.#afterCommits.splice(0)) fn()
    }
  }

  /** Calls `fn` now when no commit is in flight, else right after the commits in flight. */
  whenSettled(fn: () => void): void {
    if (this.#committing === 0) fn()
    else this.#afterCommits.push(fn)
  }

  watch<K, V>(level: LevelSublevel, opts: WatchOptions<K> = {}): ViewWatch<K, V> {
    if (opts === null || typeof opts !== 'object') throw KappaError.invalid('watch options must be an object')
    const watcher: Watcher = {
      level,
      bounds: rangeBounds(level, opts, opts.keyEncoding),
      keyEncoding: opts.keyEncoding,
      valueEncoding: opts.valueEncoding,
      watch: new ViewWatch<unknown, unknown>(() => this.#watchers.delete(watcher)),
    }
    this.#watchers.add(watcher)
    return watcher.watch as ViewWatch<K, V>
  }

  #tell(ops: readonly StagedOperation[]): void {
    for (const watcher of this.#watchers) {
      let changes: ViewChange<unknown, unknown>[] | null = null
      for (const op of ops) {
        if (!aimsAt(op, watcher.level)) continue
        if (!inRange(keyBytes(op.sublevel, op.key, op.keyEncoding), watcher.bounds)) continue
        const { level } = watcher
        const key = stored(level, 'keyEncoding', op.key, op.keyEncoding, watcher.keyEncoding)
        const change: ViewChange<unknown, unknown> =
          op.type === 'put'
            ? {
                type: 'put',
                key,
                value: stored(level, 'valueEncoding', op.value, op.valueEncoding, watcher.valueEncoding),
              }
            : { type: 'del', key }
        ;(changes ??= []).push(change)
      }
      if (!changes) continue
      try {
        watcher.watch.emit('change', changes)
      } catch (err) {
        // A listener's exception surfaces as EventEmitter's would (uncaught), not inside the commit.
        process.nextTick(() => {
          throw err
        })
      }
    }
  }
}
