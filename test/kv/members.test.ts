/**
 * Membership through hyperkv(dir, { membership }): `kv.members` is the log's and the Kappa's; a
 * non-member's puts are not values; an add brings them in; a removal hides what was written past
 * `upTo`, the register re-indexed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openOwned, replicate } from '../helpers/kv.js'

const values = (got: Record<string, unknown>) =>
  Object.values(got).map((v) => (v as { value: unknown }).value)

test('hyperkv: non-members’ puts are no values; add brings them in; a removal hides what comes past upTo', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const members = owner.members!
  assert.equal(members, owner.log.members)
  assert.equal(members, owner.log.kappa.members)
  const b = await openOwned(t, { owner: members.self })
  const bKey = b.members!.self
  assert.notEqual(bKey, members.self)

  await b.put('k', 'b1')
  await owner.put('o', 'o1')
  await replicate(owner, b)
  assert.deepEqual(values(await owner.get('k')), [], 'not a member')

  await members.add(bKey)
  // The non-member's feed was not taken; now a member, it comes with the next sync.
  await replicate(owner, b)
  await owner.ready()
  assert.deepEqual(values(await owner.get('k')), ['b1'])

  // Removed at the length the owner holds; B, not knowing it, writes on.
  await members.remove(bKey)
  assert.deepEqual(members.get(bKey), { status: 'removed', role: 'writer', upTo: 1 })
  await b.put('k', 'b2')
  await b.put('other', 'b3')
  await replicate(owner, b)
  assert.deepEqual(values(await owner.get('k')), ['b1'])
  assert.deepEqual(values(await owner.get('other')), [])
  assert.deepEqual(values(await owner.get('o')), ['o1'])
})

test('hyperkv: a removal below what the register indexed re-indexes it', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  await owner.members!.add(b.members!.self)
  await b.put('k', 'b1')
  await b.put('k', 'b2')
  await replicate(owner, b)
  assert.deepEqual(values(await owner.get('k')), ['b2'])
  await owner.members!.remove(b.members!.self, { upTo: 1 })
  await owner.ready()
  assert.deepEqual(values(await owner.get('k')), ['b1'])
})
