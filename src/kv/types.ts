/**
 * Public types of the kv layer.
 */
import type { ReplicationPolicy } from '../feeds/types.js'
import type { LevelDb, LevelLike, MembershipOption } from '../kappa/index.js'
import type { Hyperlog, HyperlogNode, LinkInput, NodeHash } from '../hyperlog/index.js'
import type { KvDoc, KvFields, OpType } from './messages.js'

export type { KvDoc, KvFields, PutDoc, DelDoc, OpType } from './messages.js'

/** The register's database as HyperKV holds it. */
export type KvDatabase = LevelDb

/** A node of the log HyperKV writes to: its value is a stored kv document (or, if foreign, anything). */
export type KvNode = HyperlogNode<unknown>

/** Options of `hyperkv(dir, opts)`: for the hyperlog it opens in `dir`. */
export interface HyperKVDirOptions {
  /** The database key (32 bytes or 64 hex); only stores with the same key replicate. Default: the open key. */
  key?: Buffer | string
  /** The most writers' logs the store holds (default 100,000; see Multifeed's `maxFeeds`). */
  maxFeeds?: number
  /** Who may write (see Kappa's `membership`); `kv.members` is the log's. */
  membership?: MembershipOption
  /** The `share` / `accept` defaults of every `kv.log.replicate` (see Multifeed's `policy`). */
  policy?: ReplicationPolicy
}

export interface HyperKVOptions {
  /** A hyperlog opened with `valueEncoding: 'json'`. */
  log: Hyperlog<unknown>
  /**
   * Where the register lives: any abstract-level database or sublevel (classic-level,
   * memory-level, …); default: the sublevel `kv` of the log's own database.
   */
  db?: LevelLike
}

/**
 * One head of a key: its value, or a tombstone. `V` is the type the app gives its values
 * (`HyperKV<V>`); values written by other peers are whatever they wrote — a `V` the app trusts
 * only as far as it trusts its writers (check them where that matters).
 */
export type KvValue<V = unknown> = { value: V } | { deleted: true }

/** `get` result: node hash → value or tombstone (`{}` for an unknown key). */
export type KvValues<V = unknown> = Record<string, KvValue<V>>
/** `get(key, { fields: true })` result: node hash → the whole stored document. */
export type KvDocs = Record<string, KvDoc>

export interface WriteOptions {
  /** The nodes this write supersedes; default: the key's current heads. `[]` starts a fork. */
  links?: readonly LinkInput[]
  /** Extra properties stored in the document beside `k`/`v` (or `d`). */
  fields?: KvFields
}

export interface GetOptions {
  /** Return the whole stored documents instead of `{ value }` / `{ deleted }`. */
  fields?: boolean
}

export interface BatchRow<V = unknown> {
  type: OpType
  key: string
  /** The value of a put. */
  value?: V
  /** As `WriteOptions.links`: default the key's heads, including earlier rows of this batch. */
  links?: readonly LinkInput[]
  fields?: KvFields
}

export interface KvReadStreamOptions {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
  /** Number of keys (rows) before the stream ends; not counting live rows. -1 or absent: no limit. */
  limit?: number
  /** Set to false to leave out `values` (default true). */
  values?: boolean
  /** `values` hold whole stored documents. */
  fields?: boolean
  /** Stay open and emit a row whenever a key in range changes. */
  live?: boolean
  /** With `live`: emit the existing rows first (default true). */
  old?: boolean
}

/** A row of `createReadStream({ values: false })`: a key and its heads. */
export interface KvKeyRow {
  key: string
  /** The key's heads (puts and tombstones), sorted by hash: the same on every replica. */
  links: NodeHash[]
}

/** A row of `createReadStream()`: a key, its heads, and each head's value or tombstone. */
export interface KvReadRow<V = unknown> extends KvKeyRow {
  values: KvValues<V>
}

/** A row of `createReadStream({ fields: true })`: each head's whole stored document. */
export interface KvDocsRow extends KvKeyRow {
  values: KvDocs
}

/** Any row of `createReadStream(opts)`, whatever `opts` says. */
export type KvAnyReadRow<V = unknown> = KvReadRow<V> | KvDocsRow | KvKeyRow

export interface KvHistoryRow<V = unknown> {
  /** The document's key (`undefined` for a tombstone or a foreign node). */
  key: string | undefined
  /** The node's hash. */
  link: NodeHash
  /** The put value (`undefined` for a tombstone). */
  value: V | undefined
  links: NodeHash[]
  identity?: Buffer
  signature?: Buffer
}

export interface HyperKVEvents<V = unknown> {
  /** A local put completed: before its caller's `await` resumes (a callback is called after). */
  put: [key: string, value: V, node: KvNode]
  /** A local del completed: before its caller's `await` resumes (a callback is called after). */
  del: [key: string, node: KvNode]
  /** A put node was indexed, local or replicated. */
  update: [key: string, value: V, node: KvNode]
  /** A del node was indexed, local or replicated. */
  remove: [key: string, node: KvNode]
  /** The log or the register's index failed (forwarded from `kv.log`); only emitted when listened to. */
  error: [err: Error]
}
