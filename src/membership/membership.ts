/**
 * The result of the fold: who is a member, who was removed and where, and how much of each log
 * counts on this replica.
 */
import type { HeldTrees, Inclusion, MemberInfo, PendingPin, Role, WriterKey } from './types.js'

/** A point a removal pins: a length and the tree hash the remover held there. */
export interface Pin {
  length: number
  treeHash: Buffer
}

/** One writer's state as the fold leaves it; `data` and `log` hold the pins of every removal. */
export type MemberState =
  | { status: 'member'; role: Role }
  | { status: 'removed'; role: Role; data: readonly Pin[]; log: readonly Pin[] }

/** The writers of an owned database, from one fold of its membership records. */
export class Membership {
  readonly owner: WriterKey
  readonly #members: ReadonlyMap<WriterKey, MemberState>
  readonly #data = new Map<WriterKey, Inclusion>()
  readonly #log = new Map<WriterKey, Inclusion>()
  readonly #pending: PendingPin[] = []

  constructor(owner: WriterKey, members: ReadonlyMap<WriterKey, MemberState>, trees: HeldTrees) {
    this.owner = owner
    this.#members = members
    for (const [key, state] of members) {
      if (state.status === 'member') {
        this.#data.set(key, { state: 'all' })
        if (state.role === 'admin') this.#log.set(key, { state: 'all' })
        continue
      }
      this.#data.set(key, this.#check(key, 'data', state.data, trees))
      if (state.role === 'admin') this.#log.set(key, this.#check(key, 'membership', state.log, trees))
    }
  }

  /** `{ status: 'none' }` for a key no counted record names. */
  get(key: WriterKey): MemberInfo {
    const state = this.#members.get(key)
    if (state === undefined) return { status: 'none' }
    if (state.status === 'member') return { status: 'member', role: state.role }
    return { status: 'removed', role: state.role, upTo: lowest(state.data) }
  }

  /** Every writer a counted record names, removed ones included, sorted by key. */
  list(): Array<MemberInfo & { key: WriterKey }> {
    const keys = [...this.#members.keys()].sort()
    return keys.map((key) => ({ key, ...this.get(key) }))
  }

  /** How much of `key`'s data feed counts. */
  inclusion(key: WriterKey): Inclusion {
    return this.#data.get(key) ?? { state: 'none' }
  }

  /** How much of `key`'s membership log counts: an admin's all, a removed admin's prefix. */
  logInclusion(key: WriterKey): Inclusion {
    return this.#log.get(key) ?? { state: 'none' }
  }

  /** Whether entry `seq` of `key`'s data feed counts. */
  includes(key: WriterKey, seq: number): boolean {
    return covers(this.inclusion(key), seq)
  }

  /**
   * The pins this replica could not check: once it holds that many entries of that log, a new
   * fold may answer differently (a history rewritten below the pin is excluded then).
   */
  pending(): readonly PendingPin[] {
    return this.#pending
  }

  #check(key: WriterKey, log: 'data' | 'membership', pins: readonly Pin[], trees: HeldTrees): Inclusion {
    const byLength = new Map<number, string>()
    let failed = false
    for (const pin of pins) {
      if (pin.length === 0) continue
      const hash = pin.treeHash.toString('hex')
      const other = byLength.get(pin.length)
      if (other !== undefined && other !== hash) failed = true
      byLength.set(pin.length, hash)
    }
    for (const [length, hash] of byLength) {
      const held = trees.treeHash(key, log, length)
      if (held === null) this.#pending.push({ writer: key, log, length })
      else if (Buffer.from(held).toString('hex') !== hash) failed = true
    }
    if (failed) return { state: 'none' }
    const length = lowest(pins)
    return length === 0 ? { state: 'none' } : { state: 'prefix', length }
  }
}

function lowest(pins: readonly Pin[]): number {
  let min = Infinity
  for (const pin of pins) if (pin.length < min) min = pin.length
  return min
}

/** Whether `inclusion` covers entry `seq`. */
export function covers(inclusion: Inclusion, seq: number): boolean {
  if (inclusion.state === 'all') return true
  if (inclusion.state === 'none') return false
  return seq < inclusion.length
}
