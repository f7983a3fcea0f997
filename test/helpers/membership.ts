/**
 * Building membership records for the fold's tests: named writers, logs as lists of ops, and
 * held trees whose hashes come from a named history.
 */
import { createHash } from 'node:crypto'
import type {
  HeldTrees,
  LogKind,
  MembershipOp,
  MembershipRecord,
  Role,
  WriterKey,
} from '../../src/membership/types.js'

/** A deterministic writer key for a name. */
export function writer(name: string): WriterKey {
  return createHash('sha256').update(`writer ${name}`).digest('hex') as WriterKey
}

/** The tree hash of `writer`'s `log` at `length` in history `history` ('h' unless rewritten). */
export function treeHash(key: WriterKey, log: LogKind, length: number, history = 'h'): Buffer {
  return createHash('sha256').update(`${history} ${key} ${log} ${length}`).digest()
}

export function add(member: WriterKey, role: Role = 'writer'): MembershipOp {
  return { type: 'add', member, role }
}

/** A removal pinning history `history` at both points. */
export function remove(member: WriterKey, upTo: number, logUpTo = 0, history = 'h'): MembershipOp {
  return {
    type: 'remove',
    member,
    upTo,
    treeHash: treeHash(member, 'data', upTo, history),
    logUpTo,
    logTreeHash: treeHash(member, 'membership', logUpTo, history),
  }
}

/** `author`'s membership log: its ops at seq 0, 1, … */
export function log(author: WriterKey, ...ops: MembershipOp[]): MembershipRecord[] {
  return ops.map((op, seq) => ({ author, seq, op }))
}

/**
 * The trees a replica holds: `held[writer/log]` is `{ length, history }` (history 'h' unless the
 * writer rewrote it); a log not listed is held to no length.
 */
export function heldTrees(held: Record<string, { length: number; history?: string }>): HeldTrees {
  return {
    treeHash(key, kind, length) {
      const h = held[`${key}/${kind}`]
      if (h === undefined || length > h.length) return null
      return treeHash(key, kind, length, h.history ?? 'h')
    },
  }
}
