/**
 * A bounded least-recently-used map from node hash to the parsed stored document, filled as nodes
 * are written and indexed, so `get` right after `put` (and reads of hot keys) need no log read.
 * Nodes are immutable, so a cached entry can never be stale.
 */
export class NodeCache<V> {
  private readonly entries = new Map<string, V>()

  constructor(private readonly capacity: number) {}

  get(hash: string): V | undefined {
    const value = this.entries.get(hash)
    if (value !== undefined) {
      // Map iteration order is insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(hash)
      this.entries.set(hash, value)
    }
    return value
  }

  set(hash: string, value: V): void {
    this.entries.delete(hash)
    this.entries.set(hash, value)
    if (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value!)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}
