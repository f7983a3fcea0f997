/**
 * Every byte layout of the view layer: the positions a view persists.
 *
 * A view with `storeState` only keeps every position in one state, rewritten each batch:
 *
 *   format:  uint8  (= STATE_FORMAT, 1)
 *   version: uint   the view's version
 *   count:   uint   number of feeds
 *   feeds:   count × (fixed32 feed key, uint entries indexed from seq 0)
 *
 * A view that stores positions per feed (`storeFeedState`: levelView, the DAG view) keeps a
 * header as its state, written when the view starts from scratch, and one record per feed,
 * written with the batches of that feed only:
 *
 *   header:  uint8 (= PER_FEED_FORMAT, 2), uint version
 *   record:  uint entries indexed from seq 0   (stored under the feed's key)
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'
import type { FeedKey } from '../feeds/types.js'

type State = ReturnType<typeof c.state>

export const STATE_FORMAT = 1
export const PER_FEED_FORMAT = 2

/** Where a view's positions are: all in its state, or one record per feed beside a header. */
export type PositionsLayout = 'whole' | 'per-feed'

export interface ViewPositions {
  version: number
  /** Feed key (hex) → number of entries indexed, contiguous from seq 0 (none in a header). */
  indexed: Map<FeedKey, number>
  /** 'per-feed': the state is a header; the positions are the feed records. Default 'whole'. */
  layout?: PositionsLayout
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
    if (format === PER_FEED_FORMAT) {
      return { version: c.uint.decode(state), indexed: new Map(), layout: 'per-feed' }
    }
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

/** The state of a view whose positions are stored per feed: the header alone. */
export function encodeStateHeader(version: number): Buffer {
  const state = c.state()
  c.uint8.preencode(state, PER_FEED_FORMAT)
  c.uint.preencode(state, version)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint8.encode(state, PER_FEED_FORMAT)
  c.uint.encode(state, version)
  return state.buffer as Buffer
}

/** One feed's record: the entries indexed from seq 0. */
export function encodeFeedPosition(indexed: number): Buffer {
  return Buffer.from(c.encode(c.uint, indexed))
}

/** Decodes a feed's record; bytes that are not one → `ERR_STORAGE`. */
export function decodeFeedPosition(bytes: Uint8Array): number {
  try {
    return c.decode(c.uint, bytes)
  } catch (err) {
    throw new KappaError('ERR_STORAGE', "a view's stored feed position cannot be decoded", { cause: err })
  }
}

/**
 * A stored state of the whole layout, as the per-feed layout holds it: the header and each feed's
 * record (a view that stored positions per feed converts a state written before in one batch).
 * null when `bytes` is of the per-feed layout already.
 */
export function splitPositions(
  bytes: Uint8Array,
): { header: Buffer; feeds: Array<[FeedKey, Buffer]> } | null {
  const positions = decodePositions(bytes)
  if (positions.layout === 'per-feed') return null
  const feeds: Array<[FeedKey, Buffer]> = []
  for (const [key, indexed] of positions.indexed)
    if (indexed > 0) feeds.push([key, encodeFeedPosition(indexed)])
  return { header: encodeStateHeader(positions.version), feeds }
}

/** Decodes stored positions; bytes that are not a state of ours → `ERR_STORAGE`. */
export function decodePositions(bytes: Uint8Array): ViewPositions {
  try {
    return c.decode(positionsEncoding, bytes)
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'the stored view state cannot be decoded', { cause: err })
  }
}
