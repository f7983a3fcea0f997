/**
 * Public types of the hyperlog layer: nodes, options, hooks.
 */
import type { Codec, FeedKey, ReplicationPolicy } from '../feeds/types.js'
import type { MembershipOption } from '../kappa/index.js'

declare const nodeHashBrand: unique symbol
/** A node's key: the hex framed sha256 of its links and value, or the custom hash's string. */
export type NodeHash = string & { readonly [nodeHashBrand]: true }

/** How node values are turned into bytes and back (the log's default, or per call). */
export type HyperlogValueEncoding = 'json' | 'utf-8' | 'utf8' | 'binary' | Codec

export interface HyperlogNode<T = unknown> {
  /** The node's hash. */
  key: NodeHash
  /** The hashes of the nodes this node links to, in the order they were given. */
  links: NodeHash[]
  /** The value, decoded with the log's (or the call's) value encoding. */
  value: T
  /** The feed key (hex) of the writer whose log holds this node. */
  log: FeedKey
  /** 1-based position of the node in that writer's log. */
  seq: number
  /** 1-based local insertion counter; topological on every replica, differs between replicas. */
  change: number
  /** The application identity given with the node, else the writer's public key. */
  identity: Buffer | null
  /** The application signature made by the `sign` hook, or null. */
  signature: Buffer | null
}

/** What `sign` and `verify` see: the node as stored, its value still encoded. */
export interface SignableNode {
  key: NodeHash
  links: NodeHash[]
  value: Buffer
  log: FeedKey
  seq: number
  identity: Buffer | null
  signature: Buffer | null
}

/** A link given to `add`/`batch`: a hash, or a node (anything with a `key`). */
export type LinkInput = string | { key: string }
export type LinksInput = LinkInput | readonly LinkInput[] | null | undefined

export type HashFunction = (links: string[], value: Buffer) => string
export type AsyncHashFunction = (
  links: string[],
  value: Buffer,
  cb: (err: Error | null, hash?: string) => void,
) => void
export type SignFunction = (node: SignableNode, cb: (err: Error | null, signature?: Buffer) => void) => void
export type VerifyFunction = (node: SignableNode, cb: (err: Error | null, valid?: boolean) => void) => void

export interface HyperlogOptions {
  /** Encoding of node values (default `'binary'`). `encoding` is accepted as an alias. */
  valueEncoding?: HyperlogValueEncoding
  encoding?: HyperlogValueEncoding
  /** The database key (32 bytes or 64 hex); only logs with the same key replicate. */
  key?: Buffer | string
  /** The most writers' logs this store holds (default 100,000; see Multifeed's `maxFeeds`). */
  maxFeeds?: number
  /** The `share` / `accept` defaults of every `replicate` (see Multifeed's `policy`). */
  policy?: ReplicationPolicy
  /** Replaces the default framed sha256. Every peer must use the same. */
  hash?: HashFunction
  /** Asynchronous replacement of the hash; wins over `hash`. */
  asyncHash?: AsyncHashFunction
  /** Identity stored with local nodes that carry none of their own. */
  identity?: Buffer
  /** Signs local nodes; the signature travels with the node. */
  sign?: SignFunction
  /** Checks replicated nodes; a node failing it is rejected and ends the replication with an error. */
  verify?: VerifyFunction
  /**
   * Commits fail with `ERR_STORAGE` (`ENOSPC`) while the index's file system has less than this
   * many bytes free (default `MIN_FREE_BYTES`, 64 MiB; 0: no check).
   */
  minFreeBytes?: number
  /** Who may write (see Kappa's `membership`); `log.members` is the Kappa's. */
  membership?: MembershipOption
}

export interface AddOptions {
  valueEncoding?: HyperlogValueEncoding
  /** Identity of this node (per document). */
  identity?: Buffer
  /** A ready-made signature: `sign` is then not called. */
  signature?: Buffer
}

/**
 * A batch's proof that some of its docs are new nodes linking only visible ones (an index over
 * the log, such as HyperKV's register, can know this): the group then skips the index read of
 * their hashes and links. Valid only while the DAG is still at change `asOf` when the batch's
 * group commits; otherwise every doc is checked as usual. A false proof makes a node visible
 * twice or with a missing link: give one only from state committed at `asOf`.
 */
export interface BatchProof {
  /** The DAG's `changes` the proof was made at. */
  asOf: number
  /** One flag per doc: whether the proof covers it. */
  proven: readonly boolean[]
  /**
   * What the prover read at `asOf`, handed back to in-line change indexes' `map` as
   * `staged.proof` when the proof held (their state at `asOf`, so they need not read it again).
   */
  reads?: unknown
}

export interface BatchOptions extends AddOptions {
  proof?: BatchProof
}

export interface BatchDoc<T = unknown> {
  links?: LinksInput
  value: T
  identity?: Buffer
}

export interface GetOptions {
  valueEncoding?: HyperlogValueEncoding
}

export interface ReadStreamOptions {
  /** Only changes after this change number (exclusive). */
  since?: number
  /** Only changes before this change number (exclusive; ignored when live). */
  until?: number
  reverse?: boolean
  limit?: number
  /** Keep the stream open and emit new changes as they become visible. */
  live?: boolean
  /** Start at the current last change (implies only new changes). */
  tail?: boolean
  valueEncoding?: HyperlogValueEncoding
}
