/**
 * Our offers as one connection's reconciliation sees them: a snapshot, sorted by key, taken when
 * the hello goes out. A range of it is named by a key prefix (`depth` hex digits of the key); its
 * digest is the XOR of its offers' hashes (the first DIGEST_BYTES of SHA-256 over each 80-byte
 * offer record: key, tree hash, length, signed length), so two sides holding the same feeds at the
 * same lengths and tree hashes have the same digest for every range, whatever their order.
 */
import crypto, { createHash } from 'node:crypto'
import { DIGEST_BYTES, OFFER_BYTES, OfferList, type FeedOffer, type KeyRange } from '../messages.js'

const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer })
  .hash

/** One native call per offer where node has `crypto.hash` (≥ 20.12): no Hash object to collect. */
function sha256(bytes: Uint8Array): Buffer {
  return oneShot ? oneShot('sha256', bytes, 'buffer') : createHash('sha256').update(bytes).digest()
}

/** A range's size and digest. */
export interface RangeSummary {
  count: number
  digest: Buffer
}

export class OfferSet {
  /** The offers' records (OFFER_BYTES each), sorted by key. */
  readonly #records: Buffer
  readonly #hashes: Buffer
  readonly count: number

  constructor(offers: readonly FeedOffer[]) {
    const list = OfferList.of([...offers].sort((a, b) => Buffer.compare(a.key, b.key)))
    this.#records = list.records
    this.count = list.count
    this.#hashes = Buffer.alloc(this.count * DIGEST_BYTES)
    for (let i = 0; i < this.count; i++) {
      const record = this.#records.subarray(i * OFFER_BYTES, (i + 1) * OFFER_BYTES)
      sha256(record).copy(this.#hashes, i * DIGEST_BYTES, 0, DIGEST_BYTES)
    }
  }

  /** The whole set's summary (the hello carries it). */
  summary(): RangeSummary {
    return this.#summarize(0, this.count)
  }

  /** The summary of `range`. */
  summaryOf(range: KeyRange): RangeSummary {
    const [from, to] = this.#bounds(range)
    return this.#summarize(from, to)
  }

  /** The summaries of `range`'s 16 sub-ranges (one more hex digit). */
  childSummaries(range: KeyRange): RangeSummary[] {
    return childRanges(range).map((child) => this.summaryOf(child))
  }

  /** Our offers in `range`. */
  offersIn(range: KeyRange): OfferList {
    const [from, to] = this.#bounds(range)
    return OfferList.fromRecords(to - from, this.#records.subarray(from * OFFER_BYTES, to * OFFER_BYTES))
  }

  #summarize(from: number, to: number): RangeSummary {
    const digest = Buffer.alloc(DIGEST_BYTES)
    for (let i = from; i < to; i++) {
      const at = i * DIGEST_BYTES
      for (let b = 0; b < DIGEST_BYTES; b++) digest[b] ^= this.#hashes[at + b]
    }
    return { count: to - from, digest }
  }

  /** `[from, to)`: the indexes of the offers whose keys start with the range's prefix. */
  #bounds(range: KeyRange): [number, number] {
    return [this.#lowerBound(range, false), this.#lowerBound(range, true)]
  }

  /** The first offer whose key is at or after the range's start (`past`: after its end). */
  #lowerBound(range: KeyRange, past: boolean): number {
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const order = compareToRange(this.#records.subarray(mid * OFFER_BYTES, mid * OFFER_BYTES + 32), range)
      if (order < 0 || (past && order === 0)) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/** The 16 sub-ranges of `range`. */
export function childRanges(range: KeyRange): KeyRange[] {
  const out: KeyRange[] = []
  for (let digit = 0; digit < 16; digit++) {
    const prefix = Buffer.alloc(Math.ceil((range.depth + 1) / 2))
    range.prefix.copy(prefix, 0, 0, Math.ceil(range.depth / 2))
    const byte = range.depth >> 1
    prefix[byte] |= range.depth % 2 === 0 ? digit << 4 : digit
    out.push({ depth: range.depth + 1, prefix })
  }
  return out
}

/** Whether `key` starts with the range's prefix. */
export function inRange(key: Buffer, range: KeyRange): boolean {
  return compareToRange(key, range) === 0
}

/** -1 / 0 / 1: the key sorts before the range, starts with its prefix, or sorts after it. */
function compareToRange(key: Buffer, range: KeyRange): number {
  const whole = range.depth >> 1
  for (let i = 0; i < whole; i++) {
    if (key[i] !== range.prefix[i]) return key[i] < range.prefix[i] ? -1 : 1
  }
  if (range.depth % 2 === 1) {
    const ours = key[whole] >> 4
    const theirs = range.prefix[whole] >> 4
    if (ours !== theirs) return ours < theirs ? -1 : 1
  }
  return 0
}

/** A range's name, for maps. */
export function rangeId(range: KeyRange): string {
  return `${range.depth}:${range.prefix.toString('hex')}`
}

/** The range of every key. */
export const ROOT_RANGE: KeyRange = { depth: 0, prefix: Buffer.alloc(0) }
