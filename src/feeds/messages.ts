/**
 * Every byte layout of the feeds layer, in one place: the block format inside each Hypercore, the
 * record of the persisted feed list, and the replication messages of the multifeed channel.
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'
import { bytes } from '../util/bytes-codec.js'

type State = ReturnType<typeof c.state>

// ---------------------------------------------------------------------------------------------
// Blocks. One Hypercore block holds one or more entries of one append (docs/DESIGN.md, "Blocks"):
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
// Feed index. One record per feed, kept as user data of a local, never-replicated Hypercore under
// the key `feed/<ordinal: 8 hex digits>` (so the keys' order is the order feeds were first added).
// Rewritten when a feed's core opens (`open` set) and when it closes (its state as it closed):
//   version:      uint8 (= FEED_RECORD_VERSION)
//   key:          fixed32  the feed's public key
//   flags:        uint8    bit 0: a name follows; bit 1: the core was open (its state may be behind)
//   name:         string   (bit 0) the local writer name; absent for feeds learned from peers
//   blocks:       uint     contiguous blocks counted in `length`
//   length:       uint     entries in those blocks
//   signedLength: uint     the core's signed length (blocks)
//   treeHash:     fixed32  the Merkle tree hash at signedLength (zeros when it is 0)
// Version 3 is the record of a sparse feed (accepted `{ start }`): the same fields, then
//   startBlock:   uint     the first block held (≥ 1; nothing below it is ever downloaded)
//   start:        uint     the seq of that block's first entry (≥ startBlock)
// and `blocks` counts the block END of the run held from startBlock (blocks ≥ startBlock). A feed
// held from 0 is still written as version 2, so only a store holding a sparse feed is unreadable
// to a reader that knows version 2 alone (ERR_STORAGE, never misread).
// ---------------------------------------------------------------------------------------------

export const FEED_RECORD_VERSION = 2
/** The version of a sparse feed's record. */
export const SPARSE_FEED_RECORD_VERSION = 3

/** What a feed holds, as its index remembers it while its core is closed. */
export interface FeedState {
  blocks: number
  length: number
  signedLength: number
  treeHash: Buffer
}

/** Where a sparse feed begins: its first block held, and that block's first entry seq. */
export interface SparseStart {
  block: number
  start: number
}

export interface FeedRecord {
  key: Buffer
  name: string | null
  state: FeedState
  /** The core was open when this was written: on reopening, its state is read from the core. */
  open: boolean
  /** Present for a sparse feed only (a version 3 record). */
  sparse?: SparseStart
}

/** The state of a feed that holds nothing. */
export function emptyFeedState(): FeedState {
  return { blocks: 0, length: 0, signedLength: 0, treeHash: EMPTY_TREE_HASH }
}

const feedRecord = {
  preencode(state: State, m: FeedRecord) {
    c.uint8.preencode(state, FEED_RECORD_VERSION)
    c.fixed32.preencode(state, m.key)
    c.uint8.preencode(state, 0)
    if (m.name !== null) c.string.preencode(state, m.name)
    c.uint.preencode(state, m.state.blocks)
    c.uint.preencode(state, m.state.length)
    c.uint.preencode(state, m.state.signedLength)
    c.fixed32.preencode(state, m.state.treeHash)
    if (m.sparse) {
      c.uint.preencode(state, m.sparse.block)
      c.uint.preencode(state, m.sparse.start)
    }
  },
  encode(state: State, m: FeedRecord) {
    c.uint8.encode(state, m.sparse ? SPARSE_FEED_RECORD_VERSION : FEED_RECORD_VERSION)
    c.fixed32.encode(state, m.key)
    c.uint8.encode(state, (m.name === null ? 0 : 1) | (m.open ? 2 : 0))
    if (m.name !== null) c.string.encode(state, m.name)
    c.uint.encode(state, m.state.blocks)
    c.uint.encode(state, m.state.length)
    c.uint.encode(state, m.state.signedLength)
    c.fixed32.encode(state, m.state.treeHash)
    if (m.sparse) {
      c.uint.encode(state, m.sparse.block)
      c.uint.encode(state, m.sparse.start)
    }
  },
  decode(state: State): FeedRecord {
    const version = c.uint8.decode(state)
    if (version !== FEED_RECORD_VERSION && version !== SPARSE_FEED_RECORD_VERSION) {
      throw new KappaError('ERR_STORAGE', `unknown feed record version ${version}`)
    }
    const key = Buffer.from(c.fixed32.decode(state))
    const flags = c.uint8.decode(state)
    const name = flags & 1 ? c.string.decode(state) : null
    const blocks = c.uint.decode(state)
    const length = c.uint.decode(state)
    const signedLength = c.uint.decode(state)
    const treeHash = Buffer.from(c.fixed32.decode(state))
    const record: FeedRecord = {
      key,
      name,
      state: { blocks, length, signedLength, treeHash },
      open: (flags & 2) !== 0,
    }
    if (version === SPARSE_FEED_RECORD_VERSION) {
      const block = c.uint.decode(state)
      const start = c.uint.decode(state)
      if (block < 1 || start < block || blocks < block || length < start || name !== null) {
        throw new KappaError('ERR_STORAGE', 'a sparse feed record with an impossible start')
      }
      record.sparse = { block, start }
    }
    return record
  },
}

export function encodeFeedRecord(record: FeedRecord): Buffer {
  return Buffer.from(c.encode(feedRecord, record))
}

export function decodeFeedRecord(bytes: Uint8Array): FeedRecord {
  return decodeStored(feedRecord, bytes, 'feed record')
}

/** A stored record, whole: anything else (trailing bytes, a short or invalid one) is ERR_STORAGE. */
function decodeStored<R>(encoding: { decode(state: State): R }, bytes: Uint8Array, what: string): R {
  try {
    const state = c.state(0, bytes.byteLength, bytes)
    const record = encoding.decode(state)
    if (state.start !== state.end) throw new KappaError('ERR_STORAGE', `trailing bytes in a ${what}`)
    return record
  } catch (err) {
    if (err instanceof KappaError) throw err
    throw new KappaError('ERR_STORAGE', `invalid ${what}`, { cause: err })
  }
}

// ---------------------------------------------------------------------------------------------
// Block record: a feed this store blocked (never replicated; user data `blocked/<hex key>` of the
// feed index core, beside the feed records; unblocking deletes it):
//   version: uint8 (= BLOCK_RECORD_VERSION)
//   key:     fixed32  the blocked feed's public key (the same as in the user data key)
//   flags:   uint8    bit 0: the feed's stored blocks were dropped
// ---------------------------------------------------------------------------------------------

export const BLOCK_RECORD_VERSION = 1

export interface BlockRecord {
  key: Buffer
  /** `block(key, { drop: true })`: the feed's stored blocks were freed. */
  drop: boolean
}

const blockRecord = {
  preencode(state: State, m: BlockRecord) {
    c.uint8.preencode(state, BLOCK_RECORD_VERSION)
    c.fixed32.preencode(state, m.key)
    c.uint8.preencode(state, 0)
  },
  encode(state: State, m: BlockRecord) {
    c.uint8.encode(state, BLOCK_RECORD_VERSION)
    c.fixed32.encode(state, m.key)
    c.uint8.encode(state, m.drop ? 1 : 0)
  },
  decode(state: State): BlockRecord {
    const version = c.uint8.decode(state)
    if (version !== BLOCK_RECORD_VERSION) {
      throw new KappaError('ERR_STORAGE', `unknown block record version ${version}`)
    }
    const key = Buffer.from(c.fixed32.decode(state))
    const flags = c.uint8.decode(state)
    return { key, drop: (flags & 1) !== 0 }
  },
}

export function encodeBlockRecord(record: BlockRecord): Buffer {
  return Buffer.from(c.encode(blockRecord, record))
}

export function decodeBlockRecord(bytes: Uint8Array): BlockRecord {
  return decodeStored(blockRecord, bytes, 'block record')
}

// ---------------------------------------------------------------------------------------------
// Replication preamble. Sent in clear by both sides before the Noise handshake, so the Noise
// roles can be settled without an initiator flag and a foreign or newer peer is refused early:
//   magic:   4 bytes  PREAMBLE_MAGIC
//   version: uint8    PROTOCOL_VERSION
//   role:    uint8    0 = negotiate, 1 = initiator, 2 = responder, 3 = connection
//   nonce:   32 bytes random; when both negotiate, the larger nonce is the Noise initiator
// On an encrypted connection given to `replicate()` (a Hyperswarm connection) the same 38 bytes,
// role 3, are the first message inside it: there is no handshake of ours to settle, but a peer of
// another version — or one that runs its own Noise stream inside the connection — is refused.
// ---------------------------------------------------------------------------------------------

/**
 * 2: feed offers carry the sender's signed length. 3: offers are fixed-size records that also carry
 * the Merkle tree hash at the signed length; tree requests and tree proofs. 4: the hello carries a
 * digest of the sender's offers instead of the offers; differing key ranges are narrowed down by
 * split / settled / leaf messages. 5: on an encrypted connection, Corestore and the channel use the
 * connection's own Noise stream and muxer (a role 3 preamble inside it) instead of a second one.
 * 6: a tree request can ask for the feed's manifest too, and the tree proof then carries it: a
 * feed not held yet is proven (its writer's signature) before any core of it is stored.
 */
export const PROTOCOL_VERSION = 6
export const PREAMBLE_MAGIC = Buffer.from('kpdb')
export const PREAMBLE_BYTES = 4 + 1 + 1 + 32

/** 'connection': the sender replicates on the encrypted connection's own Noise stream. */
export type PreambleRole = 'negotiate' | 'initiator' | 'responder' | 'connection'
const ROLES: PreambleRole[] = ['negotiate', 'initiator', 'responder', 'connection']

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
//   0 proof        { mac: fixed32 }  HMAC-SHA256(database key, role label ‖ Noise handshake hash)
//   1 hello        { version: uint, mode: uint, summary }   the digest of all the sender's offers
//   2 add          { feeds: offers }                 live: feeds offered (or grown) later
//   3 done         {}                                non-live: this side has everything
//   4 treeRequest  { key: fixed32, length: uint, flags: uint8 }   "prove the tree hash you offered
//                                                    at length"; flags bit 0: "and send the manifest"
//                                                    (for a feed the sender does not hold yet)
//   5 tree         { key: fixed32, length: uint, fork: uint, nodes: nodes, additionalNodes: nodes,
//                    signature: buffer, manifest: buffer }   the answer; length 0: "I cannot";
//                                                    manifest: Hypercore's encoding of the feed's
//                                                    manifest (its key's preimage), empty unless asked
//   6 split        { range, children: 16 × summary } the sender's digests of a differing range's
//                                                    sub-ranges (each to be answered)
//   7 settled      { ranges: uint count, count × range } these ranges have equal digests
//   8 leaf         { range, reply: uint8, feeds: offers } the sender's offers in a differing range;
//                                                    reply 0: send yours back (as a leaf with reply 1)
// summary: count: uint, digest: DIGEST_BYTES (XOR of the first DIGEST_BYTES of SHA-256 of each offer
//   record). range: depth: uint (≤ MAX_RANGE_DEPTH hex digits), prefix: the key's first depth hex
//   digits, ⌈depth/2⌉ bytes (an odd depth's last low nibble 0).
// offers: count: uint, then count records of OFFER_BYTES:
//   key: 32 bytes | treeHash: 32 bytes | length: uint64 LE | signedLength: uint64 LE
//   length: contiguous BLOCKS held; signedLength: the core's signed (tree) length, ≥ length;
//   treeHash: the Merkle tree hash at signedLength (zeros when it is 0)
// nodes: count: uint (≤ MAX_TREE_NODES), then count × (index: uint, size: uint, hash: fixed32)
// ---------------------------------------------------------------------------------------------

export const CHANNEL_PROTOCOL = 'kappadb/multifeed'

export type WireMode = 'sync' | 'push' | 'pull'
const MODES: WireMode[] = ['sync', 'push', 'pull']

export interface FeedOffer {
  key: Buffer
  /** Blocks the sender holds contiguously from 0: what the receiver may wait for (a claim). */
  length: number
  /**
   * The sender's signed length (its Merkle tree's length, ≥ `length`). Hypercore proves a block
   * only against the receiver's own signed length, so a receiver whose signed length is longer
   * (it learned a later length elsewhere without the blocks) cannot get blocks from this sender.
   */
  signedLength: number
  /** The Merkle tree hash at `signedLength` (a claim: a differing one is asked to be proven). */
  treeHash: Buffer
}

export const OFFER_BYTES = 80
/** The tree hash an offer of an empty feed carries. */
export const EMPTY_TREE_HASH: Buffer = Buffer.alloc(32)

/**
 * Feed offers as they travel: fixed-size records read one at a time, so a list of a hundred
 * thousand costs its bytes and no objects until each offer is taken.
 */
export class OfferList {
  readonly count: number
  readonly #bytes: Buffer

  /** Made by `OfferList.of` and the decoders below, which check `bytes` holds `count` records. */
  constructor(count: number, bytes: Buffer) {
    this.count = count
    this.#bytes = bytes
  }

  static of(offers: readonly FeedOffer[]): OfferList {
    const bytes = Buffer.alloc(offers.length * OFFER_BYTES)
    offers.forEach((offer, i) => {
      const at = i * OFFER_BYTES
      bytes.set(offer.key, at)
      bytes.set(offer.treeHash, at + 32)
      writeUint64(bytes, at + 64, offer.length)
      writeUint64(bytes, at + 72, offer.signedLength)
    })
    return new OfferList(offers.length, bytes)
  }

  /** Takes `count` records from `bytes` (copied), checking each one's lengths. */
  static read(count: number, bytes: Uint8Array): OfferList {
    const list = new OfferList(count, Buffer.from(bytes))
    for (let i = 0; i < count; i++) {
      const at = i * OFFER_BYTES
      const length = readUint64(list.#bytes, at + 64)
      const signedLength = readUint64(list.#bytes, at + 72)
      if (length === null || signedLength === null)
        throw new KappaError('ERR_PROTOCOL', 'a feed offer length is out of range')
      if (signedLength < length)
        throw new KappaError('ERR_PROTOCOL', 'a feed offer signs fewer blocks than it holds')
    }
    return list
  }

  /** `count` records (already checked: taken from a list) as a list of their own. */
  static fromRecords(count: number, records: Buffer): OfferList {
    return new OfferList(count, Buffer.from(records))
  }

  /** The key of the offer at `i` (a view into the list). */
  keyAt(i: number): Buffer {
    return this.#bytes.subarray(i * OFFER_BYTES, i * OFFER_BYTES + 32)
  }

  /** The offer at `i` (its buffers are its own). */
  at(i: number): FeedOffer {
    const at = i * OFFER_BYTES
    return {
      key: Buffer.from(this.#bytes.subarray(at, at + 32)),
      treeHash: Buffer.from(this.#bytes.subarray(at + 32, at + 64)),
      length: readUint64(this.#bytes, at + 64)!,
      signedLength: readUint64(this.#bytes, at + 72)!,
    }
  }

  /** The raw records (for encoding). */
  get records(): Buffer {
    return this.#bytes
  }
}

function writeUint64(buffer: Buffer, at: number, value: number): void {
  buffer.writeUInt32LE(value % 0x1_0000_0000, at)
  buffer.writeUInt32LE(Math.floor(value / 0x1_0000_0000), at + 4)
}

/** A little-endian uint64 as a number, or null beyond Number.MAX_SAFE_INTEGER. */
function readUint64(buffer: Buffer, at: number): number | null {
  const high = buffer.readUInt32LE(at + 4)
  if (high >= 0x20_0000) return null
  return high * 0x1_0000_0000 + buffer.readUInt32LE(at)
}

const offers = {
  preencode(state: State, m: OfferList) {
    c.uint.preencode(state, m.count)
    state.end += m.records.byteLength
  },
  encode(state: State, m: OfferList) {
    c.uint.encode(state, m.count)
    state.buffer!.set(m.records, state.start)
    state.start += m.records.byteLength
  },
  decode(state: State): OfferList {
    const count = c.uint.decode(state)
    const size = count * OFFER_BYTES
    if (size > state.end - state.start) throw new KappaError('ERR_PROTOCOL', 'truncated feed offers')
    const list = OfferList.read(count, state.buffer!.subarray(state.start, state.start + size))
    state.start += size
    return list
  },
}

export const DIGEST_BYTES = 16
/** A key has 64 hex digits: no range is narrower. */
export const MAX_RANGE_DEPTH = 64

/** The keys starting with `depth` hex digits of `prefix`. */
export interface KeyRange {
  depth: number
  prefix: Buffer
}

export interface Summary {
  count: number
  digest: Buffer
}

const summaryEncoding = {
  preencode(state: State, m: Summary) {
    c.uint.preencode(state, m.count)
    state.end += DIGEST_BYTES
  },
  encode(state: State, m: Summary) {
    c.uint.encode(state, m.count)
    state.buffer!.set(m.digest.subarray(0, DIGEST_BYTES), state.start)
    state.start += DIGEST_BYTES
  },
  decode(state: State): Summary {
    const count = c.uint.decode(state)
    if (state.end - state.start < DIGEST_BYTES) throw new KappaError('ERR_PROTOCOL', 'truncated digest')
    const digest = Buffer.from(state.buffer!.subarray(state.start, state.start + DIGEST_BYTES))
    state.start += DIGEST_BYTES
    return { count, digest }
  },
}

const rangeEncoding = {
  preencode(state: State, m: KeyRange) {
    c.uint.preencode(state, m.depth)
    state.end += Math.ceil(m.depth / 2)
  },
  encode(state: State, m: KeyRange) {
    c.uint.encode(state, m.depth)
    const size = Math.ceil(m.depth / 2)
    state.buffer!.set(m.prefix.subarray(0, size), state.start)
    state.start += size
  },
  decode(state: State): KeyRange {
    const depth = c.uint.decode(state)
    if (depth > MAX_RANGE_DEPTH) throw new KappaError('ERR_PROTOCOL', `a key range ${depth} digits deep`)
    const size = Math.ceil(depth / 2)
    if (state.end - state.start < size) throw new KappaError('ERR_PROTOCOL', 'truncated key range')
    const prefix = Buffer.from(state.buffer!.subarray(state.start, state.start + size))
    state.start += size
    if (depth % 2 === 1 && (prefix[size - 1] & 0x0f) !== 0) {
      throw new KappaError('ERR_PROTOCOL', 'a key range with bits past its depth')
    }
    return { depth, prefix }
  },
}

export interface SplitMessage {
  range: KeyRange
  children: Summary[]
}

export interface SettledMessage {
  ranges: KeyRange[]
}

export interface LeafMessage {
  range: KeyRange
  /** True: this answers a leaf of ours (no answer expected). False: send your offers back. */
  reply: boolean
  feeds: OfferList
}

export const splitEncoding = {
  preencode(state: State, m: SplitMessage) {
    rangeEncoding.preencode(state, m.range)
    for (const child of m.children) summaryEncoding.preencode(state, child)
  },
  encode(state: State, m: SplitMessage) {
    rangeEncoding.encode(state, m.range)
    for (const child of m.children) summaryEncoding.encode(state, child)
  },
  decode(state: State): SplitMessage {
    const range = rangeEncoding.decode(state)
    const children: Summary[] = []
    for (let i = 0; i < 16; i++) children.push(summaryEncoding.decode(state))
    return { range, children }
  },
}

/** At most this many ranges in one settled message (a split settles at most 16). */
export const MAX_SETTLED_RANGES = 16

export const settledEncoding = {
  preencode(state: State, m: SettledMessage) {
    c.uint.preencode(state, m.ranges.length)
    for (const range of m.ranges) rangeEncoding.preencode(state, range)
  },
  encode(state: State, m: SettledMessage) {
    c.uint.encode(state, m.ranges.length)
    for (const range of m.ranges) rangeEncoding.encode(state, range)
  },
  decode(state: State): SettledMessage {
    const count = c.uint.decode(state)
    if (count > MAX_SETTLED_RANGES)
      throw new KappaError('ERR_PROTOCOL', `${count} settled ranges in one message`)
    const ranges: KeyRange[] = []
    for (let i = 0; i < count; i++) ranges.push(rangeEncoding.decode(state))
    return { ranges }
  },
}

export const leafEncoding = {
  preencode(state: State, m: LeafMessage) {
    rangeEncoding.preencode(state, m.range)
    c.uint8.preencode(state, 0)
    offers.preencode(state, m.feeds)
  },
  encode(state: State, m: LeafMessage) {
    rangeEncoding.encode(state, m.range)
    c.uint8.encode(state, m.reply ? 1 : 0)
    offers.encode(state, m.feeds)
  },
  decode(state: State): LeafMessage {
    const range = rangeEncoding.decode(state)
    const reply = c.uint8.decode(state)
    if (reply > 1) throw new KappaError('ERR_PROTOCOL', 'a leaf with an unknown reply flag')
    return { range, reply: reply === 1, feeds: offers.decode(state) }
  },
}

export interface ProofMessage {
  mac: Buffer
}

export interface HelloMessage {
  version: number
  mode: WireMode
  summary: Summary
}

export interface AddMessage {
  feeds: OfferList
}

export type DoneMessage = Record<string, never>

export interface TreeRequestMessage {
  key: Buffer
  length: number
  /** Ask for the feed's manifest too: the asker holds no core of it to verify the proof with. */
  manifest: boolean
}

export interface TreeNodeMessage {
  index: number
  size: number
  hash: Buffer
}

/** A fully remote Merkle proof of the sender's tree at `length` (Hypercore's `proof()`), or length 0. */
export interface TreeMessage {
  key: Buffer
  length: number
  fork: number
  nodes: TreeNodeMessage[]
  additionalNodes: TreeNodeMessage[]
  signature: Buffer
  /** The feed's manifest (Hypercore's encoding) when the request asked for it; else empty. */
  manifest: Buffer
}

/** A tree of any length up to 2^53 has fewer roots, and fewer nodes to its signed length. */
export const MAX_TREE_NODES = 128
/** Larger than any signature Hypercore makes (multisig proofs included). */
export const MAX_SIGNATURE_BYTES = 4096
/** Larger than the manifest of any feed kappadb writes (one signer: under 100 bytes). */
export const MAX_MANIFEST_BYTES = 4096

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
    summaryEncoding.preencode(state, m.summary)
  },
  encode(state: State, m: HelloMessage) {
    c.uint.encode(state, m.version)
    c.uint.encode(state, MODES.indexOf(m.mode))
    summaryEncoding.encode(state, m.summary)
  },
  decode(state: State): HelloMessage {
    const version = c.uint.decode(state)
    // A peer of another version: its version alone is read, so it is refused with a code.
    if (version !== PROTOCOL_VERSION) {
      state.start = state.end
      return { version, mode: 'sync', summary: { count: 0, digest: Buffer.alloc(DIGEST_BYTES) } }
    }
    const mode = MODES[c.uint.decode(state)]
    if (mode === undefined) throw new KappaError('ERR_PROTOCOL', 'unknown replication mode')
    return { version, mode, summary: summaryEncoding.decode(state) }
  },
}

export const addEncoding = {
  preencode(state: State, m: AddMessage) {
    offers.preencode(state, m.feeds)
  },
  encode(state: State, m: AddMessage) {
    offers.encode(state, m.feeds)
  },
  decode(state: State): AddMessage {
    return { feeds: offers.decode(state) }
  },
}

export const doneEncoding = {
  preencode() {},
  encode() {},
  decode(): DoneMessage {
    return {}
  },
}

export const treeRequestEncoding = {
  preencode(state: State, m: TreeRequestMessage) {
    c.fixed32.preencode(state, m.key)
    c.uint.preencode(state, m.length)
    c.uint8.preencode(state, 0)
  },
  encode(state: State, m: TreeRequestMessage) {
    c.fixed32.encode(state, m.key)
    c.uint.encode(state, m.length)
    c.uint8.encode(state, m.manifest ? 1 : 0)
  },
  decode(state: State): TreeRequestMessage {
    const key = Buffer.from(c.fixed32.decode(state))
    const length = c.uint.decode(state)
    const flags = c.uint8.decode(state)
    if (flags > 1) throw new KappaError('ERR_PROTOCOL', 'a tree request with unknown flags')
    return { key, length, manifest: flags === 1 }
  },
}

const treeNode = {
  preencode(state: State, m: TreeNodeMessage) {
    c.uint.preencode(state, m.index)
    c.uint.preencode(state, m.size)
    c.fixed32.preencode(state, m.hash)
  },
  encode(state: State, m: TreeNodeMessage) {
    c.uint.encode(state, m.index)
    c.uint.encode(state, m.size)
    c.fixed32.encode(state, m.hash)
  },
  decode(state: State): TreeNodeMessage {
    return {
      index: c.uint.decode(state),
      size: c.uint.decode(state),
      hash: Buffer.from(c.fixed32.decode(state)),
    }
  },
}

const treeNodes = {
  preencode(state: State, m: TreeNodeMessage[]) {
    c.uint.preencode(state, m.length)
    for (const node of m) treeNode.preencode(state, node)
  },
  encode(state: State, m: TreeNodeMessage[]) {
    c.uint.encode(state, m.length)
    for (const node of m) treeNode.encode(state, node)
  },
  decode(state: State): TreeNodeMessage[] {
    const count = c.uint.decode(state)
    if (count > MAX_TREE_NODES) throw new KappaError('ERR_PROTOCOL', `a tree proof with ${count} nodes`)
    const nodes: TreeNodeMessage[] = []
    for (let i = 0; i < count; i++) nodes.push(treeNode.decode(state))
    return nodes
  },
}

export const treeEncoding = {
  preencode(state: State, m: TreeMessage) {
    c.fixed32.preencode(state, m.key)
    c.uint.preencode(state, m.length)
    c.uint.preencode(state, m.fork)
    treeNodes.preencode(state, m.nodes)
    treeNodes.preencode(state, m.additionalNodes)
    c.buffer.preencode(state, m.signature)
    c.buffer.preencode(state, m.manifest)
  },
  encode(state: State, m: TreeMessage) {
    c.fixed32.encode(state, m.key)
    c.uint.encode(state, m.length)
    c.uint.encode(state, m.fork)
    treeNodes.encode(state, m.nodes)
    treeNodes.encode(state, m.additionalNodes)
    c.buffer.encode(state, m.signature)
    c.buffer.encode(state, m.manifest)
  },
  decode(state: State): TreeMessage {
    const key = Buffer.from(c.fixed32.decode(state))
    const length = c.uint.decode(state)
    const fork = c.uint.decode(state)
    const nodes = treeNodes.decode(state)
    const additionalNodes = treeNodes.decode(state)
    const signature = c.buffer.decode(state)
    if (signature === null || signature.byteLength > MAX_SIGNATURE_BYTES) {
      throw new KappaError('ERR_PROTOCOL', 'a tree proof without a valid signature field')
    }
    const manifest = c.buffer.decode(state)
    if (manifest === null || manifest.byteLength > MAX_MANIFEST_BYTES) {
      throw new KappaError('ERR_PROTOCOL', 'a tree proof without a valid manifest field')
    }
    return {
      key,
      length,
      fork,
      nodes,
      additionalNodes,
      signature: Buffer.from(signature),
      manifest: Buffer.from(manifest),
    }
  },
}
