/**
 * Every byte layout of the feeds layer, in one place: the block format inside each Hypercore, the
 * record of the persisted feed list, and the replication messages of the multifeed channel.
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'
import { bytes } from '../util/bytes-codec.js'

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
  for (const entry of entries) bytes.preencode(state, entry)
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint8.encode(state, BLOCK_VERSION)
  c.uint.encode(state, first)
  c.uint.encode(state, entries.length)
  for (const entry of entries) bytes.encode(state, entry)
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

// ---------------------------------------------------------------------------------------------
// Replication preamble. Sent in clear by both sides before the Noise handshake, so the Noise
// roles can be settled without an initiator flag and a foreign or newer peer is refused early:
//   magic:   4 bytes  PREAMBLE_MAGIC
//   version: uint8    PROTOCOL_VERSION
//   role:    uint8    0 = negotiate, 1 = initiator, 2 = responder
//   nonce:   32 bytes random; when both negotiate, the larger nonce is the Noise initiator
// ---------------------------------------------------------------------------------------------

/** 2: feed offers carry the sender's signed length. */
export const PROTOCOL_VERSION = 2
export const PREAMBLE_MAGIC = Buffer.from('kpdb')
export const PREAMBLE_BYTES = 4 + 1 + 1 + 32

export type PreambleRole = 'negotiate' | 'initiator' | 'responder'
const ROLES: PreambleRole[] = ['negotiate', 'initiator', 'responder']

export interface Preamble {
  version: number
  role: PreambleRole
  nonce: Buffer
}

export function encodePreamble(preamble: Preamble): Buffer {
  const out = Buffer.alloc(PREAMBLE_BYTES)
  PREAMBLE_MAGIC.copy(out, 0)
  out[4] = preamble.version
  out[5] = ROLES.indexOf(preamble.role)
  preamble.nonce.copy(out, 6)
  return out
}

/** Decodes exactly PREAMBLE_BYTES bytes; ERR_PROTOCOL for a foreign peer, ERR_VERSION_MISMATCH for another version. */
export function decodePreamble(bytes: Buffer): Preamble {
  if (bytes.byteLength !== PREAMBLE_BYTES || !bytes.subarray(0, 4).equals(PREAMBLE_MAGIC)) {
    throw new KappaError('ERR_PROTOCOL', 'the peer does not speak the kappadb replication protocol')
  }
  const version = bytes[4]
  if (version !== PROTOCOL_VERSION) {
    throw new KappaError(
      'ERR_VERSION_MISMATCH',
      `the peer speaks replication protocol version ${version}, we speak ${PROTOCOL_VERSION}`,
    )
  }
  const role = ROLES[bytes[5]]
  if (role === undefined) throw new KappaError('ERR_PROTOCOL', `unknown role ${bytes[5]} in preamble`)
  return { version, role, nonce: Buffer.from(bytes.subarray(6)) }
}

// ---------------------------------------------------------------------------------------------
// The multifeed channel (protomux, protocol CHANNEL_PROTOCOL, id = discovery key of the database
// key). Its messages, in this order (protomux numbers them by the order they are added):
//   0 proof  { mac: fixed32 }   HMAC-SHA256(database key, role label ‖ Noise handshake hash)
//   1 hello  { version, mode, feeds: [{ key, length, signedLength }] }
//            length: contiguous BLOCKS held; signedLength: the core's signed (tree) length
//   2 add    { feeds: [{ key, length, signedLength }] }   live: feeds learned later
//   3 done   {}                                           non-live: this side has everything
// ---------------------------------------------------------------------------------------------

export const CHANNEL_PROTOCOL = 'kappadb/multifeed'

export type WireMode = 'sync' | 'push' | 'pull'
const MODES: WireMode[] = ['sync', 'push', 'pull']

export interface FeedOffer {
  key: Buffer
  /** Blocks the sender holds contiguously from 0: what the receiver may wait for. */
  length: number
  /**
   * The sender's signed length (its Merkle tree's length, ≥ `length`). Hypercore proves a block
   * only against the receiver's own signed length, so a receiver whose signed length is longer
   * (it learned a later length elsewhere without the blocks) cannot get blocks from this sender.
   */
  signedLength: number
}

export interface ProofMessage {
  mac: Buffer
}

export interface HelloMessage {
  version: number
  mode: WireMode
  feeds: FeedOffer[]
}

export interface AddMessage {
  feeds: FeedOffer[]
}

export type DoneMessage = Record<string, never>

const feedOffer = {
  preencode(state: State, m: FeedOffer) {
    c.fixed32.preencode(state, m.key)
    c.uint.preencode(state, m.length)
    c.uint.preencode(state, m.signedLength)
  },
  encode(state: State, m: FeedOffer) {
    c.fixed32.encode(state, m.key)
    c.uint.encode(state, m.length)
    c.uint.encode(state, m.signedLength)
  },
  decode(state: State): FeedOffer {
    const key = Buffer.from(c.fixed32.decode(state))
    const length = c.uint.decode(state)
    const signedLength = c.uint.decode(state)
    if (signedLength < length)
      throw new KappaError('ERR_PROTOCOL', 'a feed offer signs fewer blocks than it holds')
    return { key, length, signedLength }
  },
}
const feedOffers = c.array(feedOffer)

export const proofEncoding = {
  preencode(state: State, m: ProofMessage) {
    c.fixed32.preencode(state, m.mac)
  },
  encode(state: State, m: ProofMessage) {
    c.fixed32.encode(state, m.mac)
  },
  decode(state: State): ProofMessage {
    return { mac: Buffer.from(c.fixed32.decode(state)) }
  },
}

export const helloEncoding = {
  preencode(state: State, m: HelloMessage) {
    c.uint.preencode(state, m.version)
    c.uint.preencode(state, MODES.indexOf(m.mode))
    feedOffers.preencode(state, m.feeds)
  },
  encode(state: State, m: HelloMessage) {
    c.uint.encode(state, m.version)
    c.uint.encode(state, MODES.indexOf(m.mode))
    feedOffers.encode(state, m.feeds)
  },
  decode(state: State): HelloMessage {
    const version = c.uint.decode(state)
    const mode = MODES[c.uint.decode(state)]
    if (mode === undefined) throw new KappaError('ERR_PROTOCOL', 'unknown replication mode')
    return { version, mode, feeds: feedOffers.decode(state) }
  },
}

export const addEncoding = {
  preencode(state: State, m: AddMessage) {
    feedOffers.preencode(state, m.feeds)
  },
  encode(state: State, m: AddMessage) {
    feedOffers.encode(state, m.feeds)
  },
  decode(state: State): AddMessage {
    return { feeds: feedOffers.decode(state) }
  },
}

export const doneEncoding = {
  preencode() {},
  encode() {},
  decode(): DoneMessage {
    return {}
  },
}
