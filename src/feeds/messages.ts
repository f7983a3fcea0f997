/**
 * Every byte layout of the feeds layer, in one place: the block format inside each Hypercore, the
 * record of the persisted feed list, and the replication messages of the multifeed channel.
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'

type State = ReturnType<typeof c.state>

// ---------------------------------------------------------------------------------------------
// Blocks. One Hypercore block holds one or more entries of one append (CONTRACT §6):
//   version: uint8 (= BLOCK_VERSION)
//   first:   uint  entry seq of the block's first entry
//   count:   uint  number of entries (≥ 1)
//   entries: count × (uint byte length, bytes)
// `first + count` of the last contiguous block is the feed's length in entries.
// ---------------------------------------------------------------------------------------------

export const BLOCK_VERSION = 1
/** At most this many entries in one block. */
export const MAX_BLOCK_ENTRIES = 64
/** A block stops taking entries once it holds this many value bytes (a larger entry goes alone). */
export const MAX_BLOCK_BYTES = 64 * 1024

export interface BlockHeader {
  first: number
  count: number
}

export interface DecodedBlock extends BlockHeader {
  /** The entries' encoded values (views into the block buffer). */
  entries: Uint8Array[]
}

/** Packs `entries` (seqs `first`, `first + 1`, …) into as few blocks as the limits allow. */
export function encodeBlocks(first: number, entries: Uint8Array[]): Buffer[] {
  const blocks: Buffer[] = []
  let start = 0
  while (start < entries.length) {
    let end = start
    let bytes = 0
    while (end < entries.length && end - start < MAX_BLOCK_ENTRIES) {
      const size = entries[end].byteLength
      if (end > start && bytes + size > MAX_BLOCK_BYTES) break
      bytes += size
      end++
    }
    blocks.push(encodeBlock(first + start, entries.slice(start, end)))
    start = end
  }
  return blocks
}

function encodeBlock(first: number, entries: Uint8Array[]): Buffer {
  const state = c.state()
  c.uint8.preencode(state, BLOCK_VERSION)
  c.uint.preencode(state, first)
  c.uint.preencode(state, entries.length)
  for (const entry of entries) c.buffer.preencode(state, entry)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint8.encode(state, BLOCK_VERSION)
  c.uint.encode(state, first)
  c.uint.encode(state, entries.length)
  for (const entry of entries) c.buffer.encode(state, entry)
  return state.buffer as Buffer
}

function readHeader(state: State): BlockHeader {
  const version = c.uint8.decode(state)
  if (version !== BLOCK_VERSION) {
    throw new KappaError('ERR_VERSION_MISMATCH', `unknown block version ${version}`)
  }
  const first = c.uint.decode(state)
  const count = c.uint.decode(state)
  if (count < 1) throw new KappaError('ERR_PROTOCOL', 'empty block')
  return { first, count }
}

/** Reads only a block's header: enough to place it in the seq index. */
export function decodeBlockHeader(block: Uint8Array): BlockHeader {
  try {
    return readHeader(c.state(0, block.byteLength, block))
  } catch (err) {
    throw asProtocolError(err, 'invalid block')
  }
}

export function decodeBlock(block: Uint8Array): DecodedBlock {
  try {
    const state = c.state(0, block.byteLength, block)
    const header = readHeader(state)
    const entries: Uint8Array[] = new Array<Uint8Array>(header.count)
    for (let i = 0; i < header.count; i++) entries[i] = c.buffer.decode(state) as Uint8Array
    if (state.start !== state.end) throw new KappaError('ERR_PROTOCOL', 'trailing bytes in block')
    return { ...header, entries }
  } catch (err) {
    throw asProtocolError(err, 'invalid block')
  }
}

function asProtocolError(err: unknown, message: string): KappaError {
  if (err instanceof KappaError) return err
  return new KappaError('ERR_PROTOCOL', message, { cause: err })
}

// ---------------------------------------------------------------------------------------------
// Feed list. One record per feed, appended to a local, never-replicated Hypercore in the order
// feeds were first added:
//   version: uint8 (= FEED_RECORD_VERSION)
//   key:     fixed32  the feed's public key
//   name:    optional string — the local writer name; absent for feeds learned from peers
// ---------------------------------------------------------------------------------------------

export const FEED_RECORD_VERSION = 1

export interface FeedRecord {
  key: Buffer
  name: string | null
}

export function encodeFeedRecord(record: FeedRecord): Buffer {
  const flags = record.name === null ? 0 : 1
  const state = c.state()
  c.uint8.preencode(state, FEED_RECORD_VERSION)
  c.fixed32.preencode(state, record.key)
  c.uint8.preencode(state, flags)
  if (record.name !== null) c.string.preencode(state, record.name)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint8.encode(state, FEED_RECORD_VERSION)
  c.fixed32.encode(state, record.key)
  c.uint8.encode(state, flags)
  if (record.name !== null) c.string.encode(state, record.name)
  return state.buffer as Buffer
}

export function decodeFeedRecord(bytes: Uint8Array): FeedRecord {
  try {
    const state = c.state(0, bytes.byteLength, bytes)
    const version = c.uint8.decode(state)
    if (version !== FEED_RECORD_VERSION) {
      throw new KappaError('ERR_STORAGE', `unknown feed record version ${version}`)
    }
    const key = Buffer.from(c.fixed32.decode(state))
    const flags = c.uint8.decode(state)
    const name = flags & 1 ? c.string.decode(state) : null
    return { key, name }
  } catch (err) {
    if (err instanceof KappaError) throw err
    throw new KappaError('ERR_STORAGE', 'invalid feed record', { cause: err })
  }
}
