/**
 * What lets a write take its key's heads without waiting for the register index to catch up with
 * the writes this store just made.
 *
 * hyperkv waited for its index before every un-linked write, which put a whole index pass on the
 * path of each awaited put. Here the store remembers the registers its own recent commits lead to
 * (`predicted`) until the index has caught up with them, and waits for the index only when a node
 * it did not write itself (replicated, or added to the log directly) became visible and is not
 * indexed yet. Writes that arrive while the index is behind on foreign nodes thus still link them,
 * as hyperkv's did.
 */
import type { RegisterEntry } from './messages.js'
import type { Register } from './register-store.js'

export class LocalWrites {
  /** Predicted registers of keys written by recent commits, with the last hash applied. */
  readonly #predicted = new Map<string, { entries: Register; last: string }>()
  /** Hashes of nodes this store's commits wrote that the index has not announced yet. */
  readonly #pending = new Set<string>()
  /** The highest change number of a visible node this store did not write (0: none). */
  #foreignChange = 0
  /** Until the first full wait, what is already in the log is unknown. */
  #synced = false
  #capturing = false

  /** Whether an un-linked write must wait for the index first. */
  mustWait(indexPosition: number): boolean {
    return !this.#synced || indexPosition < this.#foreignChange
  }

  /** After a full wait (everything indexed and announced), no prediction is needed any more. */
  caughtUp(): void {
    this.#synced = true
    this.#predicted.clear()
    this.#pending.clear()
  }

  /** The register index is built again: nothing predicted holds, the next write waits for it. */
  reset(): void {
    this.#synced = false
    this.#predicted.clear()
    this.#pending.clear()
  }

  predicted(key: string): Register | undefined {
    return this.#predicted.get(key)?.entries
  }

  /** Records the register a committed node of this store leads to. */
  predict(key: string, entries: Register, hash: string): void {
    this.#predicted.set(key, { entries, last: hash })
  }

  /** Runs the log write, noting the hashes it announces (`'preadd'`) as this store's own. */
  capture<T>(write: () => T): T {
    this.#capturing = true
    try {
      return write()
    } finally {
      this.#capturing = false
    }
  }

  /** The log's `'preadd'`: a node about to be added. */
  onPreadd(hash: string | null): void {
    if (this.#capturing && hash) this.#pending.add(hash)
  }

  /** The log's `'add'`: a node became visible. */
  onAdd(hash: string, change: number): void {
    if (!this.#pending.has(hash) && change > this.#foreignChange) this.#foreignChange = change
  }

  /** The index committed and announced this node: the stored register now includes it. */
  onIndexed(key: string, hash: string): void {
    if (!this.#pending.delete(hash)) return
    if (this.#predicted.get(key)?.last === hash) this.#predicted.delete(key)
  }
}

export type { RegisterEntry }
