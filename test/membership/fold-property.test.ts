/**
 * The fold is a function of the set of records: random record sets, folded in many random orders
 * (every order for small sets, duplicates mixed in), give one result, and that result is the
 * reference model's (test/helpers/membership-model.ts). Replay one seed: SEED=<n>.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { foldMembership } from '../../src/membership/fold.js'
import type { Membership } from '../../src/membership/membership.js'
import type { HeldTrees, MembershipOp, MembershipRecord } from '../../src/membership/types.js'
import { modelFold, type ModelResult } from '../helpers/membership-model.js'
import { heldTrees, remove, writer } from '../helpers/membership.js'
import { EXTENSIVE, Prng, seedFromEnv } from '../helpers/prng.js'

const NAMES = ['o', 'a', 'b', 'c', 'd', 'w']
const KEYS = NAMES.map(writer)
const OWNER = KEYS[0]!

interface Scenario {
  records: MembershipRecord[]
  trees: HeldTrees
}

function scenario(seed: number): Scenario {
  const rng = new Prng(seed)
  const records: MembershipRecord[] = []
  for (const author of KEYS) {
    const length = author === OWNER ? rng.int(1, 6) : rng.int(0, 4)
    for (let seq = 0; seq < length; seq++) {
      const member = rng.pick(KEYS)
      let op: MembershipOp
      if (rng.chance(0.55)) op = { type: 'add', member, role: rng.chance(0.45) ? 'admin' : 'writer' }
      else op = remove(member, rng.int(0, 6), rng.int(0, 4), rng.chance(0.9) ? 'h' : 'x')
      records.push({ author, seq, op })
    }
    // Now and then a second history: another record at a seq the author already used.
    if (length > 0 && rng.chance(0.05)) {
      records.push({
        author,
        seq: rng.int(0, length - 1),
        op: { type: 'add', member: rng.pick(KEYS), role: 'writer' },
      })
    }
  }
  const held: Record<string, { length: number; history: string }> = {}
  for (const key of KEYS) {
    for (const kind of ['data', 'membership']) {
      held[`${key}/${kind}`] = { length: rng.int(0, 7), history: rng.chance(0.85) ? 'h' : 'x' }
    }
  }
  return { records, trees: heldTrees(held) }
}

function summary(m: Membership): Omit<ModelResult, 'undecided'> {
  const data: ModelResult['data'] = {}
  const log: ModelResult['log'] = {}
  for (const { key } of m.list()) {
    data[key] = m.inclusion(key)
    log[key] = m.logInclusion(key)
  }
  const pending = [...m.pending()].sort(byPin)
  return { members: m.list(), data, log, pending }
}

const byPin = (a: { writer: string; log: string; length: number }, b: typeof a) =>
  a.writer.localeCompare(b.writer) || a.log.localeCompare(b.log) || a.length - b.length

function* permutations<T>(list: readonly T[]): Generator<T[]> {
  if (list.length <= 1) {
    yield [...list]
    return
  }
  for (let i = 0; i < list.length; i++) {
    const rest = [...list.slice(0, i), ...list.slice(i + 1)]
    for (const p of permutations(rest)) yield [list[i]!, ...p]
  }
}

function shuffled<T>(rng: Prng, list: readonly T[]): T[] {
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

interface Coverage {
  undecided: number
  removed: number
  rewritten: number
  cutAdmins: number
}

function check(seed: number, coverage: Coverage): void {
  const { records, trees } = scenario(seed)
  const expected = modelFold(OWNER, records, trees)
  const first = summary(foldMembership(OWNER, records, trees))
  const { undecided, ...model } = expected
  model.pending.sort(byPin)
  assert.deepEqual(first, model, `seed ${seed}: fold differs from the model`)
  const rng = new Prng(seed).fork('orders')
  const orders: MembershipRecord[][] = []
  if (records.length <= 6) orders.push(...permutations(records))
  else {
    for (let i = 0; i < 40; i++) {
      const dupes = rng.subset(records, 0.2)
      orders.push(shuffled(rng, [...records, ...dupes]))
    }
  }
  for (const order of orders) {
    assert.deepEqual(
      summary(foldMembership(OWNER, order, trees)),
      first,
      `seed ${seed}: order changes the result`,
    )
  }
  if (undecided > 0) coverage.undecided++
  if (first.members.some((m) => m.status === 'removed')) coverage.removed++
  if (first.members.some((m) => m.status === 'removed' && first.data[m.key]!.state === 'none' && m.upTo > 0))
    coverage.rewritten++
  if (Object.values(first.log).some((l) => l.state === 'prefix')) coverage.cutAdmins++
}

/** Seeds that once exposed a difference or cover a rare case (a removal cycle, a forked author). */
const REGRESSION_SEEDS = [1, 2, 3, 7, 42, 0xdeadbeef]

test('the fold gives one result for every order of a record set, and it is the model’s', () => {
  const replay = seedFromEnv()
  const coverage: Coverage = { undecided: 0, removed: 0, rewritten: 0, cutAdmins: 0 }
  if (replay !== null) {
    check(replay, coverage)
    return
  }
  for (const seed of REGRESSION_SEEDS) check(seed, coverage)
  const runs = EXTENSIVE ? 5000 : 400
  for (let i = 0; i < runs; i++) check(0x5eed0000 + i, coverage)
  // The generator reaches every rule: removal cycles, rewritten histories, cut admin logs.
  assert.ok(coverage.undecided > 0, `no removal cycle in the run: ${JSON.stringify(coverage)}`)
  assert.ok(coverage.rewritten > 0, `no rewritten history: ${JSON.stringify(coverage)}`)
  assert.ok(coverage.cutAdmins > 0, `no cut admin log: ${JSON.stringify(coverage)}`)
  assert.ok(coverage.removed > runs / 4, `few removals: ${JSON.stringify(coverage)}`)
})
