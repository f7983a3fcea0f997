/**
 * Every byte layout of the hyperlog layer, in one place.
 *
 * Feed entry (the value of one entry in a writer's log; one node):
 *   format:    uint8  (= ENTRY_FORMAT)
 *   flags:     uint   bit 0: identity follows, bit 1: signature follows, bit 2: an anchor (another
 *              writer's node, copied verbatim so links to it resolve: never shown); other bits
 *              set: not an entry this version reads
 *   links:     uint count, then per link a uint tag: 0 → 32 raw bytes (a 64-hex lowercase hash),
 *              n > 0 → n bytes of utf-8 (any other hash string)
 *   value:     buffer (uint length + bytes): the encoded value, as hashed
 *   identity:  buffer, when flagged
 *   signature: buffer, when flagged
 * The node's key is not stored: every replica recomputes it from links and value.
 *
 * DAG index records (values of the DAG view's keys, below):
 *   node:       fixed32 feed key, uint seq (0-based), uint change, then the feed entry verbatim
 *   pending:    the same with change 0 (a node waiting for links that are not visible yet)
 *   change run: the hashes of consecutive changes, one record per DAG batch, keyed by its first
 *               change: uint8 1, then 32 bytes per hash when every hash is 64 lowercase hex
 *               digits (the default hash); else uint8 0, then the hashes as links (uint count,
 *               then per hash a tag and its bytes).
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'
import type { FeedKey } from '../feeds/types.js'
import type { NodeHash } from './types.js'
import { bytes } from '../util/bytes-codec.js'

type State = ReturnType<typeof c.state>

export const ENTRY_FORMAT = 0x68 // 'h'

const FLAG_IDENTITY = 1
const FLAG_SIGNATURE = 2
const FLAG_ANCHOR = 4
const KNOWN_FLAGS = FLAG_IDENTITY | FLAG_SIGNATURE | FLAG_ANCHOR
const HEX_HASH = /^[0-9a-f]{64}$/

/** One node as written to a feed. */
export interface NodeEntry {
  links: NodeHash[]
  value: Buffer
  identity: Buffer | null
  signature: Buffer | null
  /**
   * An anchor: a member's copy of a node its visible nodes link, hidden everywhere, so the links
   * resolve where the node's own entry is not taken (a removed writer's past `upTo`).
   */
  anchor?: true
}

const link = {
  preencode(state: State, key: string) {
    if (HEX_HASH.test(key)) {
      c.uint.preencode(state, 0)
      state.end += 32
    } else {
      const length = Buffer.byteLength(key)
      c.uint.preencode(state, length)
      state.end += length
    }
  },
  encode(state: State, key: string) {
    const buffer = state.buffer as Buffer
    if (HEX_HASH.test(key)) {
      c.uint.encode(state, 0)
      state.start += buffer.write(key, state.start, 'hex')
    } else {
      c.uint.encode(state, Buffer.byteLength(key))
      state.start += buffer.write(key, state.start, 'utf-8')
    }
  },
  decode(state: State): NodeHash {
    const tag = c.uint.decode(state)
    const length = tag === 0 ? 32 : tag
    if (state.end - state.start < length) throw new Error('link out of bounds')
    const bytes = (state.buffer as Uint8Array).subarray(state.start, state.start + length)
    state.start += length
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
      tag === 0 ? 'hex' : 'utf-8',
    ) as NodeHash
  },
}

const links = c.array(link)

const entryEncoding = {
  preencode(state: State, e: NodeEntry) {
    c.uint8.preencode(state, ENTRY_FORMAT)
    c.uint.preencode(state, flags(e))
    links.preencode(state, e.links)
    bytes.preencode(state, e.value)
    if (e.identity) bytes.preencode(state, e.identity)
    if (e.signature) bytes.preencode(state, e.signature)
  },
  encode(state: State, e: NodeEntry) {
    c.uint8.encode(state, ENTRY_FORMAT)
    c.uint.encode(state, flags(e))
    links.encode(state, e.links)
    bytes.encode(state, e.value)
    if (e.identity) bytes.encode(state, e.identity)
    if (e.signature) bytes.encode(state, e.signature)
  },
  decode(state: State): NodeEntry {
    if (c.uint8.decode(state) !== ENTRY_FORMAT) throw new Error('not a hyperlog entry')
    const f = c.uint.decode(state)
    if ((f & ~KNOWN_FLAGS) !== 0) throw new Error('unknown entry flags')
    const entry: NodeEntry = {
      links: links.decode(state),
      value: toBuffer(c.buffer.decode(state)),
      identity: null,
      signature: null,
    }
    if (f & FLAG_IDENTITY) entry.identity = toBuffer(c.buffer.decode(state))
    if (f & FLAG_SIGNATURE) entry.signature = toBuffer(c.buffer.decode(state))
    if (f & FLAG_ANCHOR) entry.anchor = true
    return entry
  },
}

function flags(e: NodeEntry): number {
  return (e.identity ? FLAG_IDENTITY : 0) | (e.signature ? FLAG_SIGNATURE : 0) | (e.anchor ? FLAG_ANCHOR : 0)
}

function toBuffer(bytes: Uint8Array | null): Buffer {
  if (!bytes) return Buffer.alloc(0)
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export function encodeEntry(entry: NodeEntry): Buffer {
  return toBuffer(c.encode(entryEncoding, entry))
}

/** Decodes a feed entry; anything else (another app's entry, a hostile peer's bytes) → null. */
export function decodeEntry(bytes: unknown): NodeEntry | null {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0 || bytes[0] !== ENTRY_FORMAT) return null
  try {
    return c.decode(entryEncoding, bytes)
  } catch {
    return null
  }
}

/** Where a node (or a node waiting for its links) sits in the logs, and its change number. */
export interface NodeRecord {
  feed: FeedKey
  /** 0-based seq in the feed. */
  seq: number
  /** 0 for a pending record. */
  change: number
  entry: NodeEntry
  /** The feed entry's bytes, kept to write records without re-encoding. */
  entryBytes: Buffer
}

export function encodeNodeRecord(feed: FeedKey, seq: number, change: number, entryBytes: Buffer): Buffer {
  const state = c.state()
  state.end = 32
  c.uint.preencode(state, seq)
  c.uint.preencode(state, change)
  state.end += entryBytes.byteLength
  state.buffer = Buffer.allocUnsafe(state.end)
  c.fixed32.encode(state, feedBytes(feed))
  c.uint.encode(state, seq)
  c.uint.encode(state, change)
  ;(state.buffer as Buffer).set(entryBytes, state.start)
  return state.buffer as Buffer
}

/** The last feed key's bytes: a batch's records are one feed's, so one hex decode serves them all. */
let lastFeed: { hex: FeedKey; bytes: Buffer } | null = null

function feedBytes(feed: FeedKey): Buffer {
  if (lastFeed?.hex !== feed) lastFeed = { hex: feed, bytes: Buffer.from(feed, 'hex') }
  return lastFeed.bytes
}

/** Decodes a record of the DAG index; bytes that are not one → `ERR_STORAGE`. */
export function decodeNodeRecord(bytes: Uint8Array): NodeRecord {
  try {
    const state = c.state(0, bytes.byteLength, bytes)
    const feed = Buffer.from(c.fixed32.decode(state)).toString('hex') as FeedKey
    const seq = c.uint.decode(state)
    const change = c.uint.decode(state)
    const entryBytes = toBuffer(bytes.subarray(state.start))
    const entry = decodeEntry(entryBytes)
    if (!entry) throw new Error('bad entry')
    return { feed, seq, change, entry, entryBytes }
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'a record of the DAG index cannot be decoded', { cause: err })
  }
}

/** A change run: the hashes of the changes `first`, `first + 1`, … one DAG batch made visible. */
export function encodeChangeRun(hashes: readonly NodeHash[]): Buffer {
  // The default hashes in one hex decode rather than one encoding per hash: exact when every hash
  // is 64 hex digits, lowercase — checked by the round trip, all native.
  const hex = hashes.join('')
  if (hex.length === 64 * hashes.length) {
    const packed = Buffer.allocUnsafe(1 + 32 * hashes.length)
    packed[0] = PACKED_RUN
    if (packed.write(hex, 1, 'hex') === 32 * hashes.length && packed.toString('hex', 1) === hex) return packed
  }
  const state = c.state()
  c.uint8.preencode(state, LINKS_RUN)
  links.preencode(state, hashes as NodeHash[])
  state.buffer = Buffer.allocUnsafe(state.end)
  c.uint8.encode(state, LINKS_RUN)
  links.encode(state, hashes as NodeHash[])
  return state.buffer as Buffer
}

const LINKS_RUN = 0
const PACKED_RUN = 1

export function decodeChangeRun(bytes: Uint8Array): NodeHash[] {
  const buffer = toBuffer(bytes)
  if (buffer.byteLength > 0 && buffer[0] === PACKED_RUN) {
    if ((buffer.byteLength - 1) % 32 !== 0 || buffer.byteLength === 1) {
      throw new KappaError('ERR_STORAGE', 'a change run of the DAG index cannot be decoded')
    }
    const hex = buffer.toString('hex', 1)
    const hashes = new Array<NodeHash>(hex.length / 64)
    for (let i = 0; i < hashes.length; i++) hashes[i] = hex.slice(64 * i, 64 * i + 64) as NodeHash
    return hashes
  }
  try {
    if (buffer[0] !== LINKS_RUN) throw new Error(`unknown change run format ${buffer[0]}`)
    const state = c.state(1, bytes.byteLength, bytes)
    const hashes = links.decode(state)
    if (state.start !== state.end) throw new Error('trailing bytes')
    return hashes
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'a change run of the DAG index cannot be decoded', { cause: err })
  }
}

/** An outbox record: the encoded entries of one group of local writes, in seq order. */
const outboxRecord = c.array(bytes)

export function encodeOutboxRecord(entries: Buffer[]): Buffer {
  return toBuffer(c.encode(outboxRecord, entries))
}

export function decodeOutboxRecord(bytes: Uint8Array): Buffer[] {
  try {
    return (c.decode(outboxRecord, bytes) as (Uint8Array | null)[]).map(toBuffer)
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'an outbox record cannot be decoded', { cause: err })
  }
}

/**
 * A uint record: the group marker (local entries with a seq below it were indexed by their group,
 * when written) and the count of waiting nodes. `what` names it in a decoding error.
 */
export function encodeUintRecord(n: number): Buffer {
  return toBuffer(c.encode(c.uint, n))
}

export function decodeUintRecord(bytes: Uint8Array, what: string): number {
  try {
    return c.decode(c.uint, bytes)
  } catch (err) {
    throw new KappaError('ERR_STORAGE', `${what} cannot be decoded`, { cause: err })
  }
}

/** A lexicographically sortable hex form of a non-negative integer (change numbers, seqs). */
export function lexHex(n: number): string {
  // The bytes of compact-encoding's lexint, spelled in hex directly for the sizes in use: one key
  // per node written, without encoding a buffer and hex-slicing it.
  if (n < 251) return HEX_BYTE[n]
  const x = n - 251
  if (n < 0x100) return 'fb' + HEX_BYTE[x]
  if (n < 0x10000) return 'fc' + HEX_BYTE[(x >>> 8) & 0xff] + HEX_BYTE[x & 0xff]
  if (n < 0x1000000)
    return 'fd' + HEX_BYTE[(x >>> 16) & 0xff] + HEX_BYTE[(x >>> 8) & 0xff] + HEX_BYTE[x & 0xff]
  if (n < 0x100000000)
    return (
      'fe' +
      HEX_BYTE[(x >>> 24) & 0xff] +
      HEX_BYTE[(x >>> 16) & 0xff] +
      HEX_BYTE[(x >>> 8) & 0xff] +
      HEX_BYTE[x & 0xff]
    )
  return toBuffer(c.encode(c.lexint, n)).toString('hex')
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

export function fromLexHex(hex: string): number {
  return c.decode(c.lexint, Buffer.from(hex, 'hex'))
}

// ---------------------------------------------------------------------------------------------
// Keys of the DAG index (utf-8 strings in the DAG view's sublevel; values are the records above):
//   c!<lexhex change>         → change run: the hashes of this change and the next ones of its batch
//   n!<hash>                  → node record
//   h!<hash>                  → empty: the node is a head (no visible node links to it)
//   w!<hash>                  → waiting record (a node record with change 0): a node waiting for
//                               links that are not visible yet
//   m!<link>                  → empty: some node waits for <link>
//   m!<link>!<hash>           → <hash> (utf-8): node <hash> waits for <link> (the value tells the
//                               two hashes apart whatever characters a custom hash uses)
//   W                         → uint: how many nodes wait (absent: none)
//   l                         → uint: the group marker: local entries with a smaller seq were
//                               indexed by their group
//   x!<feed hex>              → uint: this feed's nodes from this seq on are hidden (absent: none)
//   y!<hash>!<feed hex>       → node record (change 0): another copy of node <hash>, an entry of
//                               that feed (the same links and value another writer wrote too);
//                               the node takes a copy that counts when its own does not
//   a!<hash>                  → empty: an anchor of node <hash> may be due (a visible node links
//                               it and it is hidden); cleared once checked, or anchored
//   A                         → empty: some node record or copy is an anchor
//   X                         → uint: the generation of what is hidden (absent: 0), one more at
//                               each change; change indexes built at another one build again
// The outbox (its own sublevel, so clearing the index never drops it): key = lexhex first seq of
// a group, value = outbox record.
// ---------------------------------------------------------------------------------------------

export const GROUP_MARKER_KEY = 'l'
export const WAITING_COUNT_KEY = 'W'
export const GENERATION_KEY = 'X'
export const ANCHORED_KEY = 'A'

export const CHANGES_RANGE = { gt: 'c!', lt: 'c"' } as const
export const HEADS_RANGE = { gt: 'h!', lt: 'h"' } as const
export const NODES_RANGE = { gt: 'n!', lt: 'n"' } as const
export const HIDDEN_RANGE = { gt: 'x!', lt: 'x"' } as const
export const COPIES_RANGE = { gt: 'y!', lt: 'y"' } as const
export const DUE_ANCHORS_RANGE = { gt: 'a!', lt: 'a"' } as const

/** The key saying an anchor of node `hash` may be due (`a!<hash>`). */
export function dueAnchorKey(hash: string): string {
  return 'a!' + hash
}

/** The copies of node `hash` (the range may also hold other hashes' keys: check `hashOfCopyKey`). */
export function copiesRange(hash: string): { gt: string; lt: string } {
  return { gt: 'y!' + hash + '!', lt: 'y!' + hash + '"' }
}

/** The key of another copy of node `hash`, in `feed` (`y!<hash>!<feed hex>`). */
export function copyKey(hash: string, feed: string): string {
  return 'y!' + hash + '!' + feed
}

/** The node hash of a copy's key (a custom hash may hold '!': the feed is the last part). */
export function hashOfCopyKey(key: string): NodeHash {
  return key.slice(2, key.lastIndexOf('!')) as NodeHash
}

/** The key of a feed's hidden point (`x!<feed hex>`). */
export function hiddenKey(feed: string): string {
  return 'x!' + feed
}

export function changeKey(change: number): string {
  return 'c!' + lexHex(change)
}

export function nodeKey(hash: string): string {
  return 'n!' + hash
}

export function headKey(hash: string): string {
  return 'h!' + hash
}

export function hashOfHeadKey(key: string): NodeHash {
  return key.slice(2) as NodeHash
}

export function waitingKey(hash: string): string {
  return 'w!' + hash
}

export function markerKey(link: string): string {
  return 'm!' + link
}

export function memberKey(link: string, hash: string): string {
  return 'm!' + link + '!' + hash
}

/** The member keys of `link` (the range may also hold other links' keys: check `memberKey`). */
export function membersRange(link: string): { gt: string; lt: string } {
  return { gt: 'm!' + link + '!', lt: 'm!' + link + '"' }
}
