/**
 * The fold's rules, one test each: who counts as a member, what a removal pins, and how far each
 * log counts. The property test (fold-property.test.ts) checks the same rules over random sets.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { foldMembership } from '../../src/membership/fold.js'
import type { MembershipRecord } from '../../src/membership/types.js'
import { add, heldTrees, log, remove, writer } from '../helpers/membership.js'

const O = writer('owner')
const A = writer('a')
const B = writer('b')
const W = writer('w')
const X = writer('x')
const Y = writer('y')

test('the owner alone: an admin, its whole feed counts; an unknown key counts nothing', () => {
  const m = foldMembership(O, [])
  assert.deepEqual(m.list(), [{ key: O, status: 'member', role: 'admin' }])
  assert.deepEqual(m.inclusion(O), { state: 'all' })
  assert.deepEqual(m.get(W), { status: 'none' })
  assert.equal(m.includes(W, 0), false)
  assert.equal(m.includes(O, 1e9), true)
})

test('an add covers the whole feed; adds by admins only', () => {
  const m = foldMembership(O, [...log(O, add(W), add(A, 'admin')), ...log(A, add(X)), ...log(W, add(Y))])
  assert.deepEqual(m.get(W), { status: 'member', role: 'writer' })
  assert.deepEqual(m.get(X), { status: 'member', role: 'writer' })
  assert.deepEqual(m.get(Y), { status: 'none' }, 'a writer’s records do not count')
  assert.equal(m.includes(W, 0), true)
  assert.deepEqual(m.logInclusion(A), { state: 'all' })
  assert.deepEqual(m.logInclusion(W), { state: 'none' })
})

test('two admins adding writers concurrently keep both', () => {
  const m = foldMembership(O, [...log(O, add(A, 'admin'), add(X)), ...log(A, add(Y))])
  assert.equal(m.get(X).status, 'member')
  assert.equal(m.get(Y).status, 'member')
})

test('concurrent adds of one writer: admin wins over writer (grants are not lost)', () => {
  const m = foldMembership(O, [...log(O, add(A, 'admin'), add(W)), ...log(A, add(W, 'admin'))])
  assert.deepEqual(m.get(W), { status: 'member', role: 'admin' })
})

test('add and remove of one writer: remove wins, and a removal is final', () => {
  const concurrent = foldMembership(O, [...log(O, add(A, 'admin'), add(W)), ...log(A, remove(W, 2))])
  assert.deepEqual(concurrent.get(W), { status: 'removed', role: 'writer', upTo: 2 })
  const readded = foldMembership(O, log(O, add(W), remove(W, 2), add(W)))
  assert.deepEqual(readded.get(W), { status: 'removed', role: 'writer', upTo: 2 })
})

test('concurrent removes: the lowest upTo wins', () => {
  const m = foldMembership(O, [...log(O, add(A, 'admin'), add(W), remove(W, 5)), ...log(A, remove(W, 3))])
  assert.deepEqual(m.get(W), { status: 'removed', role: 'writer', upTo: 3 })
  assert.deepEqual(m.inclusion(W), { state: 'prefix', length: 3 })
  assert.equal(m.includes(W, 2), true)
  assert.equal(m.includes(W, 3), false)
})

test('a key never added may be removed in advance; upTo 0 counts nothing', () => {
  const m = foldMembership(O, log(O, remove(W, 0)))
  assert.deepEqual(m.get(W), { status: 'removed', role: 'writer', upTo: 0 })
  assert.deepEqual(m.inclusion(W), { state: 'none' })
})

test('an admin’s records count only up to its own removal point', () => {
  const records = [...log(O, add(A, 'admin'), remove(A, 4, 1)), ...log(A, add(X), add(Y))]
  const m = foldMembership(O, records)
  assert.deepEqual(m.get(A), { status: 'removed', role: 'admin', upTo: 4 })
  assert.equal(m.get(X).status, 'member', 'below the point')
  assert.equal(m.get(Y).status, 'none', 'at the point')
  assert.deepEqual(m.logInclusion(A), { state: 'prefix', length: 1 })
})

test('a cut admin takes what only its cut records granted with it', () => {
  const chain = (logUpTo: number) =>
    foldMembership(O, [
      ...log(O, add(A, 'admin'), remove(A, 0, logUpTo)),
      ...log(A, add(B, 'admin')),
      ...log(B, add(W)),
    ])
  assert.equal(chain(1).get(B).status, 'member')
  assert.equal(chain(1).get(W).status, 'member')
  assert.equal(chain(0).get(B).status, 'none')
  assert.equal(chain(0).get(W).status, 'none')
})

test('admins granting each other without the owner are nobody', () => {
  const m = foldMembership(O, [...log(A, add(B, 'admin')), ...log(B, add(A, 'admin'), add(W))])
  assert.deepEqual(m.list(), [{ key: O, status: 'member', role: 'admin' }])
})

test('two admins removing each other concurrently: both removed', () => {
  const records: MembershipRecord[] = [
    ...log(O, add(A, 'admin'), add(B, 'admin')),
    ...log(A, remove(B, 0, 0), add(X)),
    ...log(B, remove(A, 0, 0), add(Y)),
  ]
  const m = foldMembership(O, records)
  assert.equal(m.get(A).status, 'removed')
  assert.equal(m.get(B).status, 'removed')
  assert.equal(m.get(X).status, 'none', 'past A’s point')
  assert.equal(m.get(Y).status, 'none', 'past B’s point')
})

test('an admin that saw its own removal cannot remove its remover', () => {
  // B removes A having seen none of A's log; A, having seen B's removal (B's log at 1), removes B.
  const records = [
    ...log(O, add(A, 'admin'), add(B, 'admin')),
    ...log(A, remove(B, 0, 1)),
    ...log(B, remove(A, 0, 0)),
  ]
  const m = foldMembership(O, records)
  assert.equal(m.get(A).status, 'removed')
  assert.deepEqual(m.get(B), { status: 'member', role: 'admin' })
})

test('a removed admin cannot remove anyone past its point, whatever it claims', () => {
  const records = [
    ...log(O, add(A, 'admin'), add(W), remove(A, 0, 2)),
    ...log(A, add(X), add(Y), remove(W, 0, 0)),
  ]
  const m = foldMembership(O, records)
  assert.equal(m.get(W).status, 'member')
  assert.equal(m.get(Y).status, 'member')
})

test('the owner cannot be removed', () => {
  const m = foldMembership(O, [...log(O, add(A, 'admin')), ...log(A, remove(O, 0, 0))])
  assert.deepEqual(m.get(O), { status: 'member', role: 'admin' })
})

test('a removal pins the tree hash: a history rewritten below upTo excludes the whole feed', () => {
  const records = log(O, add(W), remove(W, 3))
  const same = foldMembership(O, records, heldTrees({ [`${W}/data`]: { length: 6 } }))
  assert.deepEqual(same.inclusion(W), { state: 'prefix', length: 3 })
  assert.deepEqual(same.pending(), [])
  const rewritten = foldMembership(O, records, heldTrees({ [`${W}/data`]: { length: 6, history: 'other' } }))
  assert.deepEqual(rewritten.inclusion(W), { state: 'none' })
  assert.equal(rewritten.includes(W, 0), false)
  // Holding fewer than upTo entries, the pin is unchecked: the prefix counts, the pin is pending.
  const short = foldMembership(O, records, heldTrees({ [`${W}/data`]: { length: 2, history: 'other' } }))
  assert.deepEqual(short.inclusion(W), { state: 'prefix', length: 3 })
  assert.deepEqual(short.pending(), [{ writer: W, log: 'data', length: 3 }])
})

test('two removals pinning different trees at one length exclude the whole feed', () => {
  const records = [...log(O, add(A, 'admin'), remove(W, 3)), ...log(A, remove(W, 3, 0, 'other'))]
  assert.deepEqual(foldMembership(O, records).inclusion(W), { state: 'none' })
})

test('a removed admin that rewrote its membership log below the point counts nothing', () => {
  const records = [...log(O, add(A, 'admin'), remove(A, 0, 2)), ...log(A, add(X), add(Y))]
  const held = (history: string) => heldTrees({ [`${A}/membership`]: { length: 2, history } })
  assert.equal(foldMembership(O, records, held('h')).get(X).status, 'member')
  const rewritten = foldMembership(O, records, held('other'))
  assert.equal(rewritten.get(X).status, 'none')
  assert.deepEqual(rewritten.logInclusion(A), { state: 'none' })
})

test('an author with two different records at one seq signed two histories: none count', () => {
  const records = [...log(O, add(A, 'admin')), ...log(A, add(X)), { author: A, seq: 0, op: add(Y) }]
  const m = foldMembership(O, records)
  assert.equal(m.get(X).status, 'none')
  assert.equal(m.get(Y).status, 'none')
})

test('a record given twice is one record', () => {
  const records = log(O, add(W), remove(W, 1))
  assert.deepEqual(foldMembership(O, [...records, ...records]).list(), foldMembership(O, records).list())
})
