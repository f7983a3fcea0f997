/**
 * A bounded cache of recently used entries. HyperKV keeps two: nodes by hash (immutable, so never
 * stale) and registers by key (kept equal to the index's latest state), so `get` right after `put`
 * and reads of hot keys need no database round trip.
 *
 * Two generations instead of a strict LRU order: entries go to the young Map; when it holds half
 * the capacity it becomes the old one (the previous old one is dropped at once), and an old entry
 * read again moves back to the young one. A hit in the young generation — the common case — is
 * one Map lookup, where a strict LRU re-inserts on every hit (a delete and a set) and its eviction
 * walks the Map's deleted slots; the write path touches every key several times. What a read
 * keeps: at least the last capacity/2 entries used, at most capacity.
 */
export class GenerationalCache<V> {
  #young = new Map<string, V>()
  #old = new Map<string, V>()
  readonly #half: number

  constructor(capacity: number) {
    this.#half = Math.max(1, capacity >> 1)
  }

  get(key: string): V | undefined {
    const value = this.#young.get(key)
    if (value !== undefined || this.#old.size === 0) return value
    const aged = this.#old.get(key)
    if (aged !== undefined) {
      this.#old.delete(key)
      this.#add(key, aged)
    }
    return aged
  }

  set(key: string, value: V): void {
    // A stale value the old generation may still hold is never read: the young one shadows it,
    // and when the young one becomes old, the old one (with the stale value) is dropped.
    this.#add(key, value)
  }

  clear(): void {
    this.#young.clear()
    this.#old.clear()
  }

  #add(key: string, value: V): void {
    const young = this.#young
    if (young.size >= this.#half && !young.has(key)) {
      this.#old = young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }
}
