/**
 * The words of membership: who may write to an owned database. This module imports none of the
 * layers (feeds, kappa, hyperlog, kv); each of them may use it.
 */

declare const writerKeyBrand: unique symbol
/**
 * A writer's identity: the public key of its data feed, as 64 lowercase hex characters. Its
 * membership log is a second feed signed by the same key pair.
 */
export type WriterKey = string & { readonly [writerKeyBrand]: true }

/** An admin writes data and membership records; a writer writes data. */
export type Role = 'writer' | 'admin'

/** The two logs of one writer: its data feed and its membership log. */
export type LogKind = 'data' | 'membership'

/** A record's effect, as stored (one entry of an admin's membership log). */
export type MembershipOp = AddOp | RemoveOp

export interface AddOp {
  type: 'add'
  member: WriterKey
  role: Role
}

/**
 * A removal pins two points: `upTo` in the member's data feed and `logUpTo` in its membership
 * log, each with the Merkle tree hash the remover held at that length. Entries below a point
 * stay; entries at or past it never count.
 */
export interface RemoveOp {
  type: 'remove'
  member: WriterKey
  upTo: number
  treeHash: Buffer
  logUpTo: number
  logTreeHash: Buffer
}

/** One membership record: entry `seq` of `author`'s membership log. */
export interface MembershipRecord {
  author: WriterKey
  seq: number
  op: MembershipOp
}

/**
 * The tree hashes this replica holds: `treeHash(writer, log, length)` is the Merkle tree hash of
 * that log at `length`, or null while the replica holds fewer than `length` entries of it.
 */
export interface HeldTrees {
  treeHash(writer: WriterKey, log: LogKind, length: number): Uint8Array | null
}

/** Holds no tree: every pin is still unchecked. */
export const NO_TREES: HeldTrees = { treeHash: () => null }

/** What one writer's status is, as `members.get` answers it. */
export type MemberInfo =
  { status: 'none' } | { status: 'member'; role: Role } | { status: 'removed'; role: Role; upTo: number }

/** How much of a log counts: all of it, the entries below `length`, or none. */
export type Inclusion = { state: 'all' } | { state: 'prefix'; length: number } | { state: 'none' }

/** A pin this replica cannot check yet: it holds fewer than `length` entries of that log. */
export interface PendingPin {
  writer: WriterKey
  log: LogKind
  length: number
}
