/**
 * A bounded least-recently-used map. HyperKV keeps two: nodes by hash (immutable, so never stale)
 * and registers by key (kept equal to the index's latest state), so `get` right after `put` and
 * reads of hot keys need no database round trip.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, V>()

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) {
      // Map iteration order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  set(key: string, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value!)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}
