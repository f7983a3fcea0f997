/**
 * `KeyFilter`: a Bloom filter of the keys that have a register — "certainly never written" or
 * "maybe written". A write of a new key then needs no database read to learn that the key has no
 * heads (a `getMany` of 1,000 keys that are not there was the largest wait of a batch of new keys).
 * It only ever grows (registers are never deleted), so it scales by adding filters of twice the
 * capacity, each at ~1% false positives; a false positive costs the read it would have cost anyway.
 */

import { mix } from '../util/mix32.js'

/** Two independent hashes of a key give every probe (double hashing). */
const SEED_1 = 0x9e3779b9
const SEED_2 = 0x7f4a7c15

/** Bits per key and probes per key: ~1% false positives per filter. */
const BITS_PER_KEY = 10
const PROBES = 7

interface Filter {
  bits: Uint32Array
  /** Number of bits - 1 (a power of two). */
  mask: number
  capacity: number
  count: number
}

export class KeyFilter {
  readonly #filters: Filter[] = []

  constructor(initialCapacity = 1 << 16) {
    this.#filters.push(filter(initialCapacity))
  }

  add(key: string): void {
    let last = this.#filters[this.#filters.length - 1]!
    if (last.count >= last.capacity) this.#filters.push((last = filter(last.capacity * 2)))
    const h1 = mix(SEED_1, key)
    const h2 = mix(SEED_2, key) | 1
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + i * h2) & last.mask
      last.bits[bit >>> 5]! |= 1 << (bit & 31)
    }
    last.count++
  }

  /** False: the key was never added. True: it may have been. */
  mightHave(key: string): boolean {
    const h1 = mix(SEED_1, key)
    const h2 = mix(SEED_2, key) | 1
    for (const f of this.#filters) if (f.count > 0 && probe(f, h1, h2)) return true
    return false
  }
}

function filter(capacity: number): Filter {
  let size = 32
  while (size < capacity * BITS_PER_KEY) size *= 2
  return { bits: new Uint32Array(size / 32), mask: size - 1, capacity, count: 0 }
}

function probe(f: Filter, h1: number, h2: number): boolean {
  for (let i = 0; i < PROBES; i++) {
    const bit = (h1 + i * h2) & f.mask
    if ((f.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
  }
  return true
}
