/**
 * The registers as stored (sublevel `x` of the kv db) behind a cache of decoded registers
 * (generational-cache.ts).
 *
 * The cache holds the index's committed state: the index's `map` sets it once its batch is
 * committed, and map calls run one at a time, each committed before the next. Readers that waited for the
 * index to be ready therefore see committed data whether it comes from the cache or the database.
 */
import type { AbstractSublevel } from 'abstract-level'
import { decodeRegister, type RegisterEntry } from './messages.js'
import { GenerationalCache } from './generational-cache.js'
import { KeyFilter } from './key-filter.js'
import { readKeys, readKeysSync } from '../level/index.js'
import type { KvDatabase } from './types.js'
import type { RegisterIterator } from './read-stream.js'

export type RegisterDb = AbstractSublevel<KvDatabase, unknown, string, Uint8Array>

/** Registers kept in memory; a register is a few dozen bytes per head. */
const REGISTER_CACHE_SIZE = 65536
/** Keys staged before the first own write that the key filter waits to take in, at most. */
const EARLY_KEYS = 65536

export type Register = readonly RegisterEntry[]

/**
 * The registers the write planner read for a batch, at the DAG change of its proof: handed back
 * (as the proof's `reads`) to the register index's `map` of the nodes committed with it.
 */
export class RegisterReads {
  readonly registers: ReadonlyMap<string, Register>
  constructor(registers: ReadonlyMap<string, Register>) {
    this.registers = registers
  }
}

export class RegisterStore {
  readonly db: RegisterDb
  readonly #cache = new GenerationalCache<Register>(REGISTER_CACHE_SIZE)
  /** Every key with a stored register, once the scan of the stored ones is complete. */
  #filter: KeyFilter | null = null
  /** The filter being built by the scan (keys written meanwhile join it too). */
  #building: KeyFilter | null = null
  /**
   * Keys staged before the learning started (replicated nodes indexed before the first own
   * write): they join the filter when it starts. Null once it started, or once too many came
   * first (then the store never learns: every key is read, as without a filter).
   */
  #early: Set<string> | null = new Set()
  /** The scan of the stored keys (resolved: none runs). */
  #learning: Promise<void> = Promise.resolve()

  constructor(kvDb: KvDatabase) {
    this.db = kvDb.sublevel<string, Uint8Array>('x', { valueEncoding: 'view' })
  }

  /** One key's register (`[]` when the key was never written). */
  async get(key: string): Promise<Register> {
    return (this.getManySync([key]) ?? (await this.getMany([key]))).get(key)!
  }

  /**
   * Many keys' registers without waiting: when every key is cached, known never written, or
   * readable with the database's synchronous `getSync` — else null (then `getMany`). Cached
   * unless `cacheRead` is false (a caller about to replace them).
   */
  getManySync(keys: Iterable<string>, cacheRead = true): Map<string, Register> | null {
    const found = this.#lookup(keys)
    if (found.missing === null) return found.out
    const stored = readKeysSync<Uint8Array>(this.db, found.missing)
    return stored ? decodeInto(found.out, found.missing, stored, cacheRead ? this.#cache : null) : null
  }

  /** Many keys' registers: cache hits, then the rest with one read (cached unless `cacheRead` is false). */
  async getMany(keys: Iterable<string>, cacheRead = true): Promise<Map<string, Register>> {
    const found = this.#lookup(keys)
    if (found.missing === null) return found.out
    const stored = await readKeys<Uint8Array>(this.db, found.missing)
    return decodeInto(found.out, found.missing, stored, cacheRead ? this.#cache : null)
  }

  /** The registers known without a read, and the distinct keys to read (null: none). */
  #lookup(keys: Iterable<string>): { out: Map<string, Register>; missing: string[] | null } {
    const out = new Map<string, Register>()
    const filter = this.#filter
    let missing: string[] | null = null
    for (const key of keys) {
      const cached = this.#cache.get(key)
      if (cached) out.set(key, cached)
      // A key the filter never saw has no register: nothing to read.
      else if (filter && !filter.mightHave(key)) out.set(key, NO_HEADS)
      else if (!out.has(key)) (missing ??= []).push(key)
    }
    if (missing === null) return { out, missing }
    // Keys given as a Set are distinct already.
    return { out, missing: missing.length > 1 && !(keys instanceof Set) ? [...new Set(missing)] : missing }
  }

  /** The index committed this state of a key. */
  cache(key: string, entries: Register): void {
    this.#cache.set(key, entries)
  }

  /** Whether the scan is over: keys never written are answered without a read. */
  get knowsKeys(): boolean {
    return this.#filter !== null
  }

  /** The index is about to store a register for `key` (before the batch that does commits). */
  willWrite(key: string): void {
    this.#filter?.add(key)
    this.#building?.add(key)
    if (this.#early) {
      this.#early.add(key)
      if (this.#early.size > EARLY_KEYS) this.#early = null
    }
  }

  /**
   * Starts learning which keys have a register (one scan of the stored keys, in the background);
   * from its end on, keys never written are not read. The keys staged before (`#early`) join the
   * filter, so none whose batch commits after the scan's snapshot is missed. Idempotent. After a
   * failed scan there is no filter: every key is read. Resolves once the scan has ended (at once
   * when it ran before, or never runs); it never rejects.
   */
  learnKeys(): Promise<void> {
    const early = this.#early
    if (!early) return this.#learning
    this.#early = null
    const building = (this.#building = new KeyFilter())
    for (const key of early) building.add(key)
    this.#learning = (async () => {
      try {
        for await (const key of this.db.keys()) building.add(key)
        this.#filter = building
      } catch {
        // Closed or failed: stay without a filter (every key is read).
      } finally {
        this.#building = null
      }
    })()
    return this.#learning
  }

  iterator(range: { gt?: string; gte?: string; lt?: string; lte?: string; limit: number }): RegisterIterator {
    return this.db.iterator(range)
  }

  clearCache(): void {
    this.#cache.clear()
  }
}

function decodeInto(
  out: Map<string, Register>,
  keys: string[],
  stored: (Uint8Array | undefined)[],
  cache: GenerationalCache<Register> | null,
): Map<string, Register> {
  for (let i = 0; i < keys.length; i++) {
    const bytes = stored[i]
    const entries = bytes ? decodeRegister(bytes) : NO_HEADS
    cache?.set(keys[i], entries)
    out.set(keys[i], entries)
  }
  return out
}

/** The register of a key never written (shared: registers are never changed in place). */
const NO_HEADS: Register = Object.freeze([])
