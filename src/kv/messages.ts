/**
 * Every storage encoding of the kv layer.
 *
 * 1. The documents HyperKV stores in the hyperlog (the node `value`, JSON through the log's json
 *    encoding). They are hyperkv 2.1's byte for byte — put `{ ...fields, k, v }`, del
 *    `{ ...fields, d }`, fields first so `k`/`v`/`d` win a collision — so hashes equal hyperkv's.
 * 2. The materialized register of one key (the `x` sublevel): the key's heads sorted by hash,
 *    as compact-encoding (`version, [type, hash, doc]*`).
 */
import c from 'compact-encoding'
import type { State } from 'compact-encoding'
import { KappaError } from '../errors.js'
import { bytes } from '../util/bytes-codec.js'

/** Extra properties merged into a stored document (`opts.fields`). */
export type KvFields = Record<string, unknown>

/** A put document as stored: fields first, then `k` and `v` (JSON key order decides the hash). */
export interface PutDoc extends KvFields {
  k: string
  v?: unknown
}

/** A del document as stored: fields first, then `d`. */
export interface DelDoc extends KvFields {
  d: string
}

export type KvDoc = PutDoc | DelDoc

export type OpType = 'put' | 'del'

/** What a stored document means for the register; `null` for documents that are not kv operations. */
export type ParsedDoc =
  { type: 'put'; key: string; value: unknown; doc: KvDoc } | { type: 'del'; key: string; doc: KvDoc }

export function encodePutDoc(key: string, value: unknown, fields?: KvFields): PutDoc {
  // Spread order matters: hyperkv used xtend(fields, { k, v }).
  return { ...fields, k: key, v: value }
}

export function encodeDelDoc(key: string, fields?: KvFields): DelDoc {
  return { ...fields, d: key }
}

/**
 * Reads a node value as hyperkv's indexer did: a falsy value, or one with neither `k` nor `d`, is
 * not a kv operation; `k` is checked first, so a document with both is a put. Keys that are not
 * strings (possible in a hand-made or foreign node) are ignored rather than trusted.
 */
export function parseDoc(value: unknown): ParsedDoc | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null
  const doc = value as Record<string, unknown>
  if (doc.k !== undefined) {
    if (typeof doc.k !== 'string') return null
    return { type: 'put', key: doc.k, value: doc.v, doc: doc as KvDoc }
  }
  if (doc.d !== undefined) {
    if (typeof doc.d !== 'string') return null
    return { type: 'del', key: doc.d, doc: doc as KvDoc }
  }
  return null
}

/**
 * One head of a key's register: a node hash, whether that node put or deleted the key, and the
 * node's document (its JSON bytes) so reads need no node lookup. `doc` is absent in registers a
 * write predicts before the index has them (stored as empty bytes: a JSON document never is).
 */
export interface RegisterEntry {
  key: string
  type: OpType
  doc?: Uint8Array
}

/** `[type, hash, doc]*`. */
const REGISTER_VERSION = 2
const TYPE_PUT = 0
const TYPE_DEL = 1
/** No document (a JSON document is never empty). */
const EMPTY = new Uint8Array(0)

const entryEncoding = {
  preencode(state: State, entry: RegisterEntry): void {
    c.uint8.preencode(state, TYPE_PUT)
    c.string.preencode(state, entry.key)
    bytes.preencode(state, entry.doc ?? EMPTY)
  },
  encode(state: State, entry: RegisterEntry): void {
    c.uint8.encode(state, entry.type === 'del' ? TYPE_DEL : TYPE_PUT)
    c.string.encode(state, entry.key)
    bytes.encode(state, entry.doc ?? EMPTY)
  },
  decode(state: State): RegisterEntry {
    const type = c.uint8.decode(state)
    if (type !== TYPE_PUT && type !== TYPE_DEL) throw new KappaError('ERR_STORAGE', 'bad register entry type')
    const entry: RegisterEntry = { type: type === TYPE_DEL ? 'del' : 'put', key: c.string.decode(state) }
    const doc = c.buffer.decode(state)
    if (doc && doc.byteLength > 0) entry.doc = doc
    return entry
  },
}

const entries = c.array(entryEncoding)

const registerEncoding = {
  preencode(state: State, heads: RegisterEntry[]): void {
    c.uint.preencode(state, REGISTER_VERSION)
    entries.preencode(state, heads)
  },
  encode(state: State, heads: RegisterEntry[]): void {
    c.uint.encode(state, REGISTER_VERSION)
    entries.encode(state, heads)
  },
  decode(state: State): RegisterEntry[] {
    const version = c.uint.decode(state)
    if (version === REGISTER_VERSION) return entries.decode(state)
    throw new KappaError('ERR_STORAGE', `unknown register format version ${version}`)
  },
}

/** A head's document as the register keeps it: its JSON bytes. */
export function encodeDoc(doc: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(doc))
}

export function decodeDoc(bytes: Uint8Array): KvDoc {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString()) as KvDoc
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'corrupt document in a register', { cause: err })
  }
}

export function encodeRegister(entries: RegisterEntry[]): Uint8Array {
  return c.encode(registerEncoding, entries)
}

export function decodeRegister(bytes: Uint8Array): RegisterEntry[] {
  try {
    return c.decode(registerEncoding, bytes)
  } catch (err) {
    throw new KappaError('ERR_STORAGE', 'corrupt register record', { cause: err })
  }
}
