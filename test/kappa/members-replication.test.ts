/**
 * Membership enforced in replication: a removed writer's feed is downloaded only up to `upTo`
 * (whatever a stale peer offers), non-members' feeds are neither taken nor served, and the
 * membership logs travel on the data's own replication stream. Real stores, counted blocks.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { finished } from 'node:stream/promises'
import type { Kappa } from '../../src/kappa/index.js'
import { replicationStats } from '../../src/feeds/index.js'
import { openCore, sync } from '../helpers/kappa.js'
import { syncOwned } from '../helpers/owned.js'
import { until } from '../helpers/until.js'

/** Replicates the membership logs alone (the data stays). */
async function syncMembers(a: Kappa<any, any>, b: Kappa<any, any>): Promise<void> {
  const left = a.members!.replicate(true)
  const right = b.members!.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await Promise.all([a.members!.ready(), b.members!.ready()])
}

test('a fresh peer learning a removal downloads exactly upTo blocks of B from a stale peer offering more', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const o = owner.members!.self
  const b = await openCore<string>(t, { membership: { owner: o } })
  const stale = await openCore<string>(t, { membership: { owner: o } })
  const fresh = await openCore<string>(t, { membership: { owner: o } })
  await Promise.all([b.ready(), stale.ready(), fresh.ready()])
  const bWriter = await b.writer()
  await owner.members!.add(bWriter.id)
  for (let i = 0; i < 5; i++) await bWriter.append(`b${i}`)
  await syncOwned(owner, b)
  await syncOwned(owner, stale)
  assert.equal(stale.feed(bWriter.id)?.length, 5)

  await owner.members!.remove(bWriter.id, { upTo: 3 })
  await syncMembers(owner, fresh)
  assert.deepEqual(fresh.members!.get(bWriter.id), { status: 'removed', role: 'writer', upTo: 3 })

  const left = stale.replicate(true)
  const right = fresh.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  assert.equal(fresh.feed(bWriter.id)?.length, 3)
  assert.equal(replicationStats(right).blocksReceived, 3, 'exactly the blocks below upTo')
  // And the fresh peer passes on only what counts.
  const next = await openCore<string>(t, { membership: { owner: o } })
  await next.ready()
  await syncMembers(owner, next)
  await sync(fresh, next)
  assert.equal(next.feed(bWriter.id)?.length, 3)
})

test('a non-member’s feed is neither taken nor served in an owned database', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const o = owner.members!.self
  const x = await openCore<string>(t, { membership: { owner: o } })
  await x.ready()
  const member = await openCore<string>(t, { membership: { owner: o } })
  await member.ready()
  const xWriter = await x.writer()
  await xWriter.append(['x0', 'x1'])
  // x serves its own feed (no record names it yet), but the owner does not take it.
  await sync(owner, x)
  assert.equal(owner.feed(xWriter.id), undefined)
  // A store of the same key without membership takes it; a member syncing with that store does not.
  const open = await openCore<string>(t, { key: owner.key })
  await open.ready()
  await sync(x, open)
  assert.equal(open.feed(xWriter.id)?.length, 2)
  await owner.members!.add(member.members!.self)
  await syncOwned(owner, member)
  await sync(open, member)
  assert.equal(member.feed(xWriter.id), undefined, 'the member does not take the non-member’s feed')
})

test('core.replicate carries the membership logs: one sync makes a new writer a member and brings its data', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const o = owner.members!.self
  const b = await openCore<string>(t, { membership: { owner: o } })
  const f = await openCore<string>(t, { membership: { owner: o } })
  await Promise.all([b.ready(), f.ready()])
  const bWriter = await b.writer()
  await bWriter.append(['b0', 'b1'])
  await owner.members!.add(bWriter.id)
  await owner.members!.add(f.members!.self)
  await sync(owner, b)
  await b.members!.ready()
  assert.deepEqual(b.members!.get(bWriter.id), { status: 'member', role: 'writer' })
  assert.equal(owner.feed(bWriter.id)?.length, 2)
  // F hears of B only from B: the owner's log and B's data arrive in the same sync.
  await sync(b, f)
  await f.members!.ready()
  assert.deepEqual(f.members!.get(bWriter.id), { status: 'member', role: 'writer' })
  assert.equal(f.feed(bWriter.id)?.length, 2)
})

test('live: membership changes propagate on the data’s own connection', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const b = await openCore<string>(t, { membership: { owner: owner.members!.self } })
  await b.ready()
  const left = owner.replicate(true, { live: true })
  const right = b.replicate(false, { live: true })
  left.pipe(right).pipe(left)
  t.after(() => {
    left.destroy()
    right.destroy()
  })
  const changed = new Promise<void>((resolve) => b.members!.once('change', () => resolve()))
  await owner.members!.add(b.members!.self)
  await changed
  assert.deepEqual(b.members!.get(b.members!.self), { status: 'member', role: 'writer' })
  const bWriter = await b.writer()
  await bWriter.append('hello')
  await until(() => owner.feed(bWriter.id)?.length === 1, 'the owner takes the new member’s entry')
})
