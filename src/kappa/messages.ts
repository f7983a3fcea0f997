/**
 * Every byte layout of the view layer: the positions a view persists through `storeState`.
 *
 *   format:  uint8  (= STATE_FORMAT)
 *   version: uint   the view's version
 *   count:   uint   number of feeds
 *   feeds:   count × (fixed32 feed key, uint entries indexed from seq 0)
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'
import type { FeedKey } from '../feeds/types.js'

type State = ReturnType<typeof c.state>

export const STATE_FORMAT = 1

export interface ViewPositions {
  version: number
  /** Feed key (hex) → number of entries indexed, contiguous from seq 0. */
  indexed: Map<FeedKey, number>
}

interface FeedPosition {
  key: Buffer
  indexed: number
}

const feedPosition = {
  preencode(state: State, p: FeedPosition) {
    c.fixed32.preencode(state, p.key)
    c.uint.preencode(state, p.indexed)
  },
  encode(state: State, p: FeedPosition) {
    c.fixed32.encode(state, p.key)
    c.uint.encode(state, p.indexed)
  },
  decode(state: State): FeedPosition {
    return { key: Buffer.from(c.fixed32.decode(state)), indexed: c.uint.decode(state) }
  },
}

const feedPositions = c.array(feedPosition)

const positionsEncoding = {
  preencode(state: State, p: ViewPositions) {
    c.uint8.preencode(state, STATE_FORMAT)
    c.uint.preencode(state, p.version)
    feedPositions.preencode(state, toList(p))
  },
  encode(state: State, p: ViewPositions) {
    c.uint8.encode(state, STATE_FORMAT)
    c.uint.encode(state, p.version)
    feedPositions.encode(state, toList(p))
  },
  decode(state: State): ViewPositions {
    const format = c.uint8.decode(state)
    if (format !== STATE_FORMAT) throw new Error(`unknown view state format ${format}`)
    const version = c.uint.decode(state)
    const indexed = new Map<FeedKey, number>()
    for (const p of feedPositions.decode(state)) indexed.set(p.key.toString('hex') as FeedKey, p.indexed)
    return { version, indexed }
  },
}

function toList(p: ViewPositions): FeedPosition[] {
  const list: FeedPosition[] = []
  for (const [key, indexed] of p.indexed)
    if (indexed > 0) list.push({ key: Buffer.from(key, 'hex'), indexed })
  return list
}

export function encodePositions(positions: ViewPositions): Buffer {
  return Buffer.from(c.encode(positionsEncoding, positions))
}

/** Feed key (hex) → its bytes, decoded once per feed (the indexer encodes positions every batch). */
const keyBytes = new Map<FeedKey, Buffer>()

function bytesOf(key: FeedKey): Buffer {
  let bytes = keyBytes.get(key)
  if (!bytes) {
    bytes = Buffer.from(key, 'hex')
    keyBytes.set(key, bytes)
  }
  return bytes
}

/**
 * `encodePositions({ version, indexed })` with `indexed[key]` taken as `count`, without copying
 * the map: the same bytes, written directly.
 */
export function encodePositionsWith(
  version: number,
  indexed: ReadonlyMap<FeedKey, number>,
  key: FeedKey,
  count: number,
): Buffer {
  // Plain loops, no closures: this runs once per batch.
  const state = c.state()
  let feeds = 0
  c.uint8.preencode(state, STATE_FORMAT)
  c.uint.preencode(state, version)
  for (const [feed, n] of indexed) {
    if (feed === key || n <= 0) continue
    feeds++
    state.end += 32
    c.uint.preencode(state, n)
  }
  if (count > 0) {
    feeds++
    state.end += 32
    c.uint.preencode(state, count)
  }
  c.uint.preencode(state, feeds)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint8.encode(state, STATE_FORMAT)
  c.uint.encode(state, version)
  c.uint.encode(state, feeds)
  // The map's order, with `key` in its place (or last when new), as encodePositions writes it.
  for (const [feed, n] of indexed) {
    const value = feed === key ? count : n
    if (value <= 0) continue
    c.fixed32.encode(state, bytesOf(feed))
    c.uint.encode(state, value)
  }
  if (!indexed.has(key) && count > 0) {
    c.fixed32.encode(state, bytesOf(key))
    c.uint.encode(state, count)
  }
  return state.buffer as Buffer
}

/** Decodes stored positions; bytes that are not a state of ours → `ERR_STORAGE`. */
export function decodePositions(bytes: Uint8Array): ViewPositions {
  try {
    return c.decode(positionsEncoding, bytes)
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'the stored view state cannot be decoded', { cause: err })
  }
}
