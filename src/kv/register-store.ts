/**
 * The registers as stored (sublevel `x` of the kv db) behind an LRU cache of decoded registers.
 *
 * The cache holds the index's committed state: the index's `map` sets it once its batch is
 * committed, and map calls run one at a time, each committed before the next. Readers that waited for the
 * index to be ready therefore see committed data whether it comes from the cache or the database.
 */
import type { AbstractSublevel } from 'abstract-level'
import { decodeRegister, type RegisterEntry } from './messages.js'
import { LruCache } from './lru-cache.js'
import { readKeys } from '../hyperlog/read-keys.js'
import type { KvDatabase } from './types.js'
import type { RegisterIterator } from './read-stream.js'

export type RegisterDb = AbstractSublevel<KvDatabase, unknown, string, Uint8Array>

/** Registers kept in memory; a register is a few dozen bytes per head. */
const REGISTER_CACHE_SIZE = 65536

export type Register = readonly RegisterEntry[]

export class RegisterStore {
  readonly db: RegisterDb
  readonly #cache = new LruCache<Register>(REGISTER_CACHE_SIZE)

  constructor(kvDb: KvDatabase) {
    this.db = kvDb.sublevel<string, Uint8Array>('x', { valueEncoding: 'view' })
  }

  /** One key's register (`[]` when the key was never written). */
  async get(key: string): Promise<Register> {
    const cached = this.#cache.get(key)
    if (cached) return cached
    const [stored] = await readKeys<Uint8Array>(this.db, [key])
    const entries = stored ? decodeRegister(stored) : []
    this.#cache.set(key, entries)
    return entries
  }

  /** Many keys' registers: cache hits, then one `getMany` for the rest. */
  async getMany(keys: Iterable<string>): Promise<Map<string, Register>> {
    const out = new Map<string, Register>()
    const missing: string[] = []
    for (const key of keys) {
      const cached = this.#cache.get(key)
      if (cached) out.set(key, cached)
      else if (!out.has(key)) missing.push(key)
    }
    if (missing.length > 0) {
      const stored = await readKeys<Uint8Array>(this.db, missing)
      missing.forEach((key, i) => {
        const bytes = stored[i]
        const entries = bytes ? decodeRegister(bytes) : []
        this.#cache.set(key, entries)
        out.set(key, entries)
      })
    }
    return out
  }

  /** The index committed this state of a key. */
  cache(key: string, entries: Register): void {
    this.#cache.set(key, entries)
  }

  iterator(range: { gt?: string; gte?: string; lt?: string; lte?: string; limit: number }): RegisterIterator {
    return this.db.iterator(range)
  }

  clearCache(): void {
    this.#cache.clear()
  }
}
