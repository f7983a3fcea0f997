/**
 * A reference model of the membership fold, written from the rules in docs/DESIGN.md
 * ("Membership: records and the fold") and sharing no code with src/membership: slow and
 * direct (adminship by recursive search instead of a closure loop), for small random sets.
 */
import type {
  HeldTrees,
  Inclusion,
  LogKind,
  MemberInfo,
  MembershipRecord,
  PendingPin,
  RemoveOp,
  WriterKey,
} from '../../src/membership/types.js'

export interface ModelResult {
  members: Array<MemberInfo & { key: WriterKey }>
  data: Record<string, Inclusion>
  log: Record<string, Inclusion>
  pending: PendingPin[]
  /** Removals the well-founded model left undecided (they count). */
  undecided: number
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function sameOp(a: MembershipRecord['op'], b: MembershipRecord['op']): boolean {
  if (a.type !== b.type || a.member !== b.member) return false
  if (a.type === 'add' && b.type === 'add') return a.role === b.role
  const x = a as RemoveOp
  const y = b as RemoveOp
  return (
    x.upTo === y.upTo &&
    x.logUpTo === y.logUpTo &&
    hex(x.treeHash) === hex(y.treeHash) &&
    hex(x.logTreeHash) === hex(y.logTreeHash)
  )
}

export function modelFold(
  owner: WriterKey,
  input: readonly MembershipRecord[],
  trees: HeldTrees,
): ModelResult {
  // The set: one record per (author, seq); an author with two different ones counts nothing.
  const unique: MembershipRecord[] = []
  const forked = new Set<string>()
  for (const r of input) {
    const twin = unique.find((u) => u.author === r.author && u.seq === r.seq)
    if (!twin) unique.push(r)
    else if (!sameOp(twin.op, r.op)) forked.add(r.author)
  }
  const records = unique.filter(
    (r) => !forked.has(r.author) && !(r.op.type === 'remove' && r.op.member === owner),
  )

  const pinFails = (key: WriterKey, kind: LogKind, pins: Array<{ length: number; hash: string }>) => {
    for (const p of pins) {
      if (p.length === 0) continue
      if (pins.some((q) => q.length === p.length && q.hash !== p.hash)) return true
      const held = trees.treeHash(key, kind, p.length)
      if (held !== null && hex(held) !== p.hash) return true
    }
    return false
  }

  const cut = (author: WriterKey, assumed: readonly MembershipRecord[]): number => {
    if (author === owner) return Infinity
    const mine = assumed.map((r) => r.op as RemoveOp).filter((op) => op.member === author)
    if (mine.length === 0) return Infinity
    const pins = mine.map((op) => ({ length: op.logUpTo, hash: hex(op.logTreeHash) }))
    // A pin that fails cuts the log to 0; otherwise the lowest point.
    let lowest = Infinity
    for (const pin of pins) {
      const fails =
        pin.length > 0 &&
        pinFails(author, 'membership', [pin, ...pins.filter((q) => q.length === pin.length)])
      lowest = Math.min(lowest, fails ? 0 : pin.length)
    }
    return lowest
  }

  const gamma = (assumed: readonly MembershipRecord[]): MembershipRecord[] => {
    const proven = new Set<MembershipRecord>()
    const counts = (r: MembershipRecord, path: ReadonlySet<MembershipRecord>): boolean => {
      if (proven.has(r)) return true
      if (r.seq >= cut(r.author, assumed)) return false
      const ok =
        r.author === owner ||
        records.some(
          (a) =>
            a.op.type === 'add' &&
            a.op.role === 'admin' &&
            a.op.member === r.author &&
            !path.has(a) &&
            counts(a, new Set([...path, a])),
        )
      if (ok) proven.add(r)
      return ok
    }
    return records.filter((r) => counts(r, new Set([r])))
  }
  const removalsIn = (rs: readonly MembershipRecord[]) => rs.filter((r) => r.op.type === 'remove')

  let lower: MembershipRecord[] = []
  let upper: MembershipRecord[]
  let decided: MembershipRecord[]
  for (;;) {
    upper = removalsIn(gamma(lower))
    decided = gamma(upper)
    const next = removalsIn(decided)
    if (next.length === lower.length && next.every((r) => lower.includes(r))) break
    lower = next
  }

  const keys = new Set<WriterKey>([owner])
  for (const r of decided) if (r.op.type === 'add') keys.add(r.op.member)
  for (const r of upper) keys.add(r.op.member)
  const members: ModelResult['members'] = []
  const data: Record<string, Inclusion> = {}
  const log: Record<string, Inclusion> = {}
  const pending: PendingPin[] = []
  for (const key of [...keys].sort()) {
    const adds = decided.filter((r) => r.op.type === 'add' && r.op.member === key).map((r) => r.op)
    const role =
      key === owner || adds.some((op) => op.type === 'add' && op.role === 'admin') ? 'admin' : 'writer'
    const removals = upper.map((r) => r.op as RemoveOp).filter((op) => op.member === key)
    if (removals.length === 0) {
      members.push({ key, status: 'member', role })
      data[key] = { state: 'all' }
      log[key] = role === 'admin' ? { state: 'all' } : { state: 'none' }
      continue
    }
    const upTo = Math.min(...removals.map((op) => op.upTo))
    members.push({ key, status: 'removed', role, upTo })
    const inclusion = (kind: LogKind, pins: Array<{ length: number; hash: string }>): Inclusion => {
      for (const length of new Set(pins.filter((p) => p.length > 0).map((p) => p.length))) {
        if (trees.treeHash(key, kind, length) === null) pending.push({ writer: key, log: kind, length })
      }
      const lowest = Math.min(...pins.map((p) => p.length))
      if (pinFails(key, kind, pins) || lowest === 0) return { state: 'none' }
      return { state: 'prefix', length: lowest }
    }
    data[key] = inclusion(
      'data',
      removals.map((op) => ({ length: op.upTo, hash: hex(op.treeHash) })),
    )
    log[key] =
      role === 'admin'
        ? inclusion(
            'membership',
            removals.map((op) => ({ length: op.logUpTo, hash: hex(op.logTreeHash) })),
          )
        : { state: 'none' }
  }
  return { members, data, log, pending, undecided: upper.length - removalsIn(decided).length }
}
