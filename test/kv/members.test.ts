/**
 * Membership through hyperkv(dir, { membership }): `kv.members` is the log's and the Kappa's; a
 * non-member's puts are not values; an add brings them in; a removal hides what was written past
 * `upTo`, the register re-indexed. The partition case with three replicas, two admins adding
 * writers at once, reopening. Membership logs replicate beside the data (test/helpers/owned.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { HyperKV } from '../../src/kv/index.js'
import type { Members } from '../../src/kappa/index.js'
import { openOwned, replicate } from '../helpers/kv.js'
import { syncOwnedKv } from '../helpers/owned.js'
import { isKappaError } from '../../src/errors.js'

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
  // B learns of its add first: a writer that does not count yet shows none of its puts, so its
  // second put of a key would not link its first.
  await replicate(owner, b)
  await b.put('k', 'b1')
  await b.put('k', 'b2')
  await replicate(owner, b)
  assert.deepEqual(values(await owner.get('k')), ['b2'])
  await owner.members!.remove(b.members!.self, { upTo: 1 })
  await owner.ready()
  assert.deepEqual(values(await owner.get('k')), ['b1'])
})

/** Every key and its values, as a replica shows them. */
async function shown(kv: HyperKV): Promise<Record<string, unknown[]>> {
  await kv.ready()
  const out: Record<string, unknown[]> = {}
  for await (const row of kv.createReadStream()) {
    const vs = values(row.values as Record<string, unknown>)
    if (vs.length > 0) out[row.key] = vs.sort()
  }
  return out
}

test('partition: the owner removes B at upTo 3 while B, cut off, puts on; once healed every replica shows exactly B’s first 3, B gets removed', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const o = owner.members!
  const b = await openOwned(t, { owner: o.self })
  const c = await openOwned(t, { owner: o.self })
  const bKey = b.members!.self
  await o.add(bKey)
  for (let i = 0; i < 3; i++) await b.put(`k${i}`, `b${i}`)
  await b.log.flush()
  await syncOwnedKv(owner, b)
  const first = { k0: ['b0'], k1: ['b1'], k2: ['b2'] }
  assert.deepEqual(await shown(owner), first)
  assert.deepEqual(b.members!.get(bKey), { status: 'member', role: 'writer' })

  // Cut off: the owner removes B at what it holds (3); B overwrites k0 and adds k3..k4.
  await o.remove(bKey)
  assert.deepEqual(o.get(bKey), { status: 'removed', role: 'writer', upTo: 3 })
  await b.put('k0', 'late')
  await b.put('k3', 'b3')
  await b.put('k4', 'b4')
  await b.log.flush()
  assert.deepEqual(await shown(b), { k0: ['late'], k1: ['b1'], k2: ['b2'], k3: ['b3'], k4: ['b4'] })
  let removed = 0
  b.log.kappa.on('removed', () => removed++)

  // Healing: the owner with B, B with C, C with the owner.
  await syncOwnedKv(owner, b)
  await syncOwnedKv(b, c)
  await syncOwnedKv(c, owner)
  for (const [name, kv] of [
    ['owner', owner],
    ['B', b],
    ['C', c],
  ] as const) {
    assert.deepEqual(kv.members!.get(bKey), { status: 'removed', role: 'writer', upTo: 3 }, name)
    // B's replica holds all it wrote; the others take B's feed only up to upTo.
    assert.equal(kv.log.kappa.feed(bKey)?.length, name === 'B' ? 6 : 3, `${name} holds B’s feed to here`)
  }
  // C learned the removal with B's later entries; the owner never indexed them.
  assert.deepEqual(await shown(owner), first, 'the owner shows exactly B’s first 3')
  assert.deepEqual(await shown(c), first, 'C shows exactly B’s first 3')
  assert.equal(removed, 1)
})

test('hyperkv: a non-member’s own store does not show its puts until an admin adds it', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  await b.put('k', 'b1')
  assert.deepEqual(values(await b.get('k')), [], 'hidden as soon as the put resolves')
  await b.log.flush()
  await b.ready()
  assert.deepEqual(values(await b.get('k')), [], 'as on every other replica')
  await owner.members!.add(b.members!.self)
  await syncOwnedKv(owner, b)
  assert.deepEqual(values(await b.get('k')), ['b1'])
})

// Two writers putting the same value with the same links write one node (its hash) twice: it
// shows wherever one of its copies counts, whichever copy the store indexed first.
test('hyperkv: a node a non-member wrote first shows through a member’s copy of it', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  const mine = await b.put('k', 'same')
  assert.deepEqual(values(await b.get('k')), [], 'B does not count')
  const theirs = await owner.put('k', 'same')
  assert.equal(theirs.key, mine.key, 'one node')
  await syncOwnedKv(owner, b)
  assert.deepEqual(values(await b.get('k')), ['same'], 'B shows it through the owner’s copy')
  assert.deepEqual(values(await owner.get('k')), ['same'])
})

test('hyperkv: a member’s put of a node hidden through a removed writer’s copy shows', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  await owner.members!.add(b.members!.self)
  await replicate(owner, b)
  const first = await b.put('k', 'same')
  await b.log.flush()
  await syncOwnedKv(owner, b)
  await owner.members!.remove(b.members!.self, { upTo: 0 })
  assert.deepEqual(values(await owner.get('k')), [], 'B’s copy no longer counts')
  const again = await owner.put('k', 'same')
  assert.equal(again.key, first.key, 'the same node')
  assert.equal(again.log, owner.members!.self, 'through the owner’s own copy')
  assert.deepEqual(values(await owner.get('k')), ['same'])
  await owner.log.flush()
  assert.equal(owner.log.kappa.feed(owner.members!.self)?.length, 1, 'the owner appended its copy')
  const shownNodes: string[] = []
  for await (const node of owner.log.createReadStream()) shownNodes.push(node.key)
  assert.deepEqual(shownNodes, [first.key], 'one node, at one change')
})

test('hyperkv: a removal of the writer whose copy a node shows through keeps it shown through another', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  const c = await openOwned(t, { owner: owner.members!.self })
  await owner.members!.add(b.members!.self)
  await owner.members!.add(c.members!.self)
  await syncOwnedKv(owner, b)
  await syncOwnedKv(owner, c)
  const fromB = await b.put('k', 'same')
  const fromC = await c.put('k', 'same')
  assert.equal(fromB.key, fromC.key)
  await Promise.all([b.log.flush(), c.log.flush()])
  await syncOwnedKv(owner, b)
  await syncOwnedKv(owner, c)
  assert.deepEqual(values(await owner.get('k')), ['same'])
  await owner.members!.remove(b.members!.self, { upTo: 0 })
  assert.deepEqual(values(await owner.get('k')), ['same'], 'C’s copy still counts')
  assert.equal((await owner.log.get(fromB.key)).log, c.members!.self)
  await owner.members!.remove(c.members!.self, { upTo: 0 })
  assert.deepEqual(values(await owner.get('k')), [], 'no copy counts')
})

test('partition: once B knows of its removal its put rejects ERR_NOT_WRITABLE and shows nowhere', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  const bKey = b.members!.self
  await owner.members!.add(bKey)
  await b.put('k0', 'b0')
  await b.log.flush()
  await syncOwnedKv(owner, b)
  await owner.members!.remove(bKey)
  await syncOwnedKv(owner, b)
  assert.equal(b.members!.get(bKey).status, 'removed')
  await assert.rejects(b.put('k1', 'b1'), (err) => isKappaError(err, 'ERR_NOT_WRITABLE'))
  assert.deepEqual(await shown(b), { k0: ['b0'] })
  assert.equal(b.log.kappa.feed(bKey)?.length, 1, 'nothing appended')
})

test('partition: B’s own register, which indexed its later puts before it learned the removal, shows exactly its first 3', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  const bKey = b.members!.self
  await owner.members!.add(bKey)
  for (let i = 0; i < 3; i++) await b.put(`k${i}`, `b${i}`)
  await b.log.flush()
  await syncOwnedKv(owner, b)
  await owner.members!.remove(bKey)
  await b.put('k0', 'late')
  await b.put('k3', 'b3')
  await b.log.flush()
  await syncOwnedKv(owner, b)
  assert.deepEqual(await shown(b), { k0: ['b0'], k1: ['b1'], k2: ['b2'] })
})

test('two admins adding writers concurrently keep both: each writer’s puts count on every replica', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const a = await openOwned(t, { owner: owner.members!.self })
  const x = await openOwned(t, { owner: owner.members!.self })
  const y = await openOwned(t, { owner: owner.members!.self })
  await owner.members!.add(a.members!.self, { role: 'admin' })
  await syncOwnedKv(owner, a)
  // Cut off from each other: the owner adds X, A adds Y.
  await Promise.all([owner.members!.add(x.members!.self), a.members!.add(y.members!.self)])
  await x.put('from', 'x')
  await y.put('from', 'y')
  await Promise.all([x.log.flush(), y.log.flush()])
  await syncOwnedKv(owner, x)
  await syncOwnedKv(a, y)
  await syncOwnedKv(owner, a)
  await syncOwnedKv(x, owner)
  await syncOwnedKv(y, a)
  for (const kv of [owner, a, x, y]) {
    assert.deepEqual(kv.members!.get(x.members!.self), { status: 'member', role: 'writer' })
    assert.deepEqual(kv.members!.get(y.members!.self), { status: 'member', role: 'writer' })
  }
  for (const kv of [owner, a]) assert.deepEqual(await shown(kv), { from: ['x', 'y'] })
})

/** An owned HyperKV in a fresh directory that added admin 11…, added and removed 22… and put k; closed again. */
async function ownedAndClosed(t: TestContext): Promise<{ dir: string; rows: ReturnType<Members['list']> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-kv-members-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const first = new HyperKV(dir, { membership: { owner: true } })
  await first.ready()
  await first.members!.ready()
  await first.members!.add('11'.repeat(32), { role: 'admin' })
  await first.members!.add('22'.repeat(32))
  await first.members!.remove('22'.repeat(32), { upTo: 0 })
  await first.put('k', 'v')
  const rows = first.members!.list()
  await first.close()
  return { dir, rows }
}

test('hyperkv: the membership survives reopening, and records added after it count at once', async (t) => {
  const { dir, rows } = await ownedAndClosed(t)
  const again = new HyperKV(dir, { membership: { owner: true } })
  t.after(() => again.close())
  await again.ready()
  await again.members!.ready()
  assert.deepEqual(again.members!.list(), rows)
  assert.deepEqual(values(await again.get('k')), ['v'])
  const writer = '11'.repeat(32)
  await again.members!.remove(writer, { upTo: 0 })
  assert.deepEqual(again.members!.get(writer), { status: 'removed', role: 'admin', upTo: 0 })
})

test('hyperkv: reopened, kv.members answers once kv.ready() resolved', async (t) => {
  const { dir, rows } = await ownedAndClosed(t)
  const again = new HyperKV(dir, { membership: { owner: true } })
  t.after(() => again.close())
  await again.ready()
  assert.deepEqual(again.members!.list(), rows)
})
