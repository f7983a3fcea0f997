/**
 * The fold: membership as a function of the set of records. The order records arrive in never
 * matters: the fold sorts them by (author, seq) first and every rule below reads only the set.
 *
 * Rules (docs/DESIGN.md, "Membership: records and the fold", has the argument):
 * - the owner is an admin and cannot be removed; an admin is someone a counted add made one;
 * - a record counts when its author is an admin and the record lies below its author's log cut:
 *   the lowest `logUpTo` of the counted removals of that author (0 when a pin of the author's
 *   membership log fails against the tree this replica holds);
 * - a removal is final: no add, earlier, concurrent or later, undoes it; the lowest `upTo` wins;
 * - whether a removal counts can depend on itself through a cycle (A removes B while B removes A):
 *   the fold computes the well-founded model of the rules (an alternating fixpoint) and lets every
 *   removal that model leaves undecided count, while an add counts only when it is decided.
 */
import { encodeRecord } from './messages.js'
import { Membership, type MemberState, type Pin } from './membership.js'
import type { HeldTrees, MembershipRecord, RemoveOp, Role, WriterKey } from './types.js'
import { NO_TREES } from './types.js'

interface Canonical {
  record: MembershipRecord
  /** Position in the sorted list: the set's identity of this record. */
  index: number
}

/** The membership the records give, for a database owned by `owner`. */
export function foldMembership(
  owner: WriterKey,
  records: Iterable<MembershipRecord>,
  trees: HeldTrees = NO_TREES,
): Membership {
  const list = canonical(owner, records)
  const removals = list.filter((r) => r.record.op.type === 'remove')

  // Alternating fixpoint: `lower` only grows, `upper` only shrinks, each a set of removals.
  let lower = new Set<number>()
  let upper: Set<number>
  let decided: Set<number>
  for (;;) {
    upper = removalsOf(counted(owner, list, cutsOf(owner, removals, lower, trees)), list)
    decided = counted(owner, list, cutsOf(owner, removals, upper, trees))
    const next = removalsOf(decided, list)
    if (sameSet(next, lower)) break
    lower = next
  }

  const members = new Map<WriterKey, MemberState>()
  const roleOf = new Map<WriterKey, Role>([[owner, 'admin']])
  for (const index of decided) {
    const { op } = list[index]!.record
    if (op.type !== 'add') continue
    if (op.role === 'admin' || !roleOf.has(op.member)) roleOf.set(op.member, op.role)
  }
  const pins = new Map<WriterKey, { data: Pin[]; log: Pin[] }>()
  for (const index of upper) {
    const op = list[index]!.record.op as RemoveOp
    let p = pins.get(op.member)
    if (!p) pins.set(op.member, (p = { data: [], log: [] }))
    p.data.push({ length: op.upTo, treeHash: op.treeHash })
    p.log.push({ length: op.logUpTo, treeHash: op.logTreeHash })
  }
  for (const [key, role] of roleOf) if (!pins.has(key)) members.set(key, { status: 'member', role })
  for (const [key, p] of pins) {
    members.set(key, { status: 'removed', role: roleOf.get(key) ?? 'writer', data: p.data, log: p.log })
  }
  return new Membership(owner, members, trees)
}

/**
 * The records as a set: sorted by (author, seq), duplicates merged. Two different records at one
 * (author, seq) mean the author signed two histories: none of that author's records count. A
 * removal of the owner, and a record that does not encode, have no effect and are left out.
 */
function canonical(owner: WriterKey, records: Iterable<MembershipRecord>): Canonical[] {
  const byPosition = new Map<string, { record: MembershipRecord; bytes: string }>()
  const forked = new Set<WriterKey>()
  for (const record of records) {
    if (!Number.isSafeInteger(record.seq) || record.seq < 0) continue
    let bytes: string
    try {
      bytes = encodeRecord(record.op).toString('hex')
    } catch {
      continue
    }
    const position = `${record.author}/${record.seq}`
    const seen = byPosition.get(position)
    if (seen === undefined) byPosition.set(position, { record, bytes })
    else if (seen.bytes !== bytes) forked.add(record.author)
  }
  const kept: MembershipRecord[] = []
  for (const { record } of byPosition.values()) {
    if (forked.has(record.author)) continue
    if (record.op.type === 'remove' && record.op.member === owner) continue
    kept.push(record)
  }
  kept.sort((a, b) => (a.author < b.author ? -1 : a.author > b.author ? 1 : a.seq - b.seq))
  return kept.map((record, index) => ({ record, index }))
}

/**
 * Each author's log cut under the removals `assumed` to count: records at or past it never count.
 * A failed pin (the tree this replica holds at that length differs, or two removals pin different
 * trees at one length) cuts the whole log.
 */
function cutsOf(
  owner: WriterKey,
  removals: readonly Canonical[],
  assumed: ReadonlySet<number>,
  trees: HeldTrees,
): Map<WriterKey, number> {
  const cuts = new Map<WriterKey, number>()
  const pinned = new Map<string, string>()
  for (const { record, index } of removals) {
    if (!assumed.has(index)) continue
    const op = record.op as RemoveOp
    if (op.member === owner) continue
    let cut = op.logUpTo
    if (cut > 0) {
      const position = `${op.member}/${cut}`
      const hash = op.logTreeHash.toString('hex')
      const other = pinned.get(position)
      if (other !== undefined && other !== hash) cut = 0
      pinned.set(position, hash)
      const held = trees.treeHash(op.member, 'membership', cut)
      if (held !== null && Buffer.from(held).toString('hex') !== hash) cut = 0
    }
    const before = cuts.get(op.member)
    if (before === undefined || cut < before) cuts.set(op.member, cut)
  }
  return cuts
}

/**
 * The records that count when `cuts` hold: the least set closed under "an admin's record below
 * its cut counts". Admins come from counted adds, so this repeats until nothing changes.
 */
function counted(
  owner: WriterKey,
  list: readonly Canonical[],
  cuts: ReadonlyMap<WriterKey, number>,
): Set<number> {
  const admins = new Set<WriterKey>([owner])
  const result = new Set<number>()
  let changed = true
  while (changed) {
    changed = false
    for (const { record, index } of list) {
      if (result.has(index) || !admins.has(record.author)) continue
      if (record.author !== owner && record.seq >= (cuts.get(record.author) ?? Infinity)) continue
      result.add(index)
      changed = true
      if (record.op.type === 'add' && record.op.role === 'admin') admins.add(record.op.member)
    }
  }
  return result
}

function removalsOf(set: ReadonlySet<number>, list: readonly Canonical[]): Set<number> {
  const out = new Set<number>()
  for (const index of set) if (list[index]!.record.op.type === 'remove') out.add(index)
  return out
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false
  for (const x of a) if (!b.has(x)) return false
  return true
}
