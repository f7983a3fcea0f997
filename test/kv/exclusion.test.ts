/**
 * Excluded writers in a HyperKV: a blocked writer's puts and dels are no values (an overwrite it
 * made is void: the value it overwrote is back), and an honest put linking a blocked or removed
 * writer's node stays a value. The register is built again when that changes after indexing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { finished } from 'node:stream/promises'
import { isKappaError } from '../../src/errors.js'
import { HyperKV } from '../../src/kv/index.js'
import { Multifeed } from '../../src/feeds/index.js'
import { join } from 'node:path'
import { openKvs, openOwned, replicate, tempDir } from '../helpers/kv.js'

const values = async (kv: HyperKV, key: string) =>
  Object.values(await kv.get(key))
    .map((v) => (v as { value: unknown }).value)
    .sort()

async function writerKey(kv: HyperKV): Promise<string> {
  await kv.ready()
  return (await kv.log.kappa.writer('hyperlog')).id
}

test('kv.block: a blocked writer’s values go, its overwrites are void, honest puts linking it stay; unblock brings it back', async (t) => {
  const [a, b, c] = await openKvs(t, 3)
  await a.put('x', 'a1')
  await replicate(a, b)
  await b.put('x', 'b2') // overwrites a1
  await b.put('spam', 'b-spam')
  await b.put('k', 'b1')
  await replicate(b, c)
  await c.put('k', 'c1') // links b1
  await replicate(c, a)
  assert.deepEqual(await values(a, 'x'), ['b2'])
  assert.deepEqual(await values(a, 'spam'), ['b-spam'])
  assert.deepEqual(await values(a, 'k'), ['c1'])

  const bKey = await writerKey(b)
  await a.block(bKey)
  assert.deepEqual(await a.blocked(), [bKey])
  assert.deepEqual(await values(a, 'x'), ['a1'], 'the blocked overwrite is void')
  assert.deepEqual(await values(a, 'spam'), [])
  assert.deepEqual(await values(a, 'k'), ['c1'], 'the honest put linking the blocked node stays')
  // History walks the visible nodes: the link to the blocked node is not followed.
  const history = await a.createHistoryStream('k').toArray()
  assert.deepEqual(
    history.map((row) => row.value),
    ['c1'],
  )
  const rows = await a.createReadStream().toArray()
  assert.deepEqual(rows.map((r: { key: string }) => r.key).sort(), ['k', 'x'])
  // Writes after the block link what the register holds now.
  await a.put('x', 'a2')
  assert.deepEqual(await values(a, 'x'), ['a2'])

  await a.unblock(bKey)
  assert.deepEqual(await a.blocked(), [])
  assert.deepEqual(await values(a, 'spam'), ['b-spam'])
  // a2 linked a1 only: b2 (which overwrote a1) is concurrent with it.
  assert.deepEqual(await values(a, 'x'), ['a2', 'b2'])
  assert.deepEqual(await values(a, 'k'), ['c1'])
  await assert.rejects(a.block(bKey, { drop: true }), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
})

/** The two stores' membership logs, then their data, both ways. */
async function syncOwned(a: HyperKV, b: HyperKV): Promise<void> {
  const left = a.members!.replicate(true)
  const right = b.members!.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await Promise.all([a.members!.ready(), b.members!.ready()])
  await replicate(a, b)
}

test('owned: C’s put linking an excluded node of B stays visible after B’s removal', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  const c = await openOwned(t, { owner: owner.members!.self })
  await owner.members!.add(b.members!.self)
  await owner.members!.add(c.members!.self)
  await syncOwned(owner, b)
  await syncOwned(owner, c)
  await b.put('k', 'b1')
  await b.put('only-b', 'b2')
  await syncOwned(b, c)
  await c.put('k', 'c1') // links b1
  await syncOwned(c, owner)
  assert.deepEqual(await values(owner, 'k'), ['c1'])
  assert.deepEqual(await values(owner, 'only-b'), ['b2'])

  await owner.members!.remove(b.members!.self, { upTo: 0 })
  await owner.ready()
  assert.deepEqual(await values(owner, 'only-b'), [])
  assert.deepEqual(await values(owner, 'k'), ['c1'], 'C’s put stays a value')
  const b1 = (await b.log.heads()).find((n) => (n.value as { k?: string }).k === 'k')!
  await assert.rejects(owner.log.get(b1.key), (err) => isKappaError(err, 'ERR_NOT_FOUND'))

  // C learns of the removal too and agrees.
  await syncOwned(owner, c)
  await c.ready()
  assert.deepEqual(await values(c, 'only-b'), [])
  assert.deepEqual(await values(c, 'k'), ['c1'])
})

test('owned: a member that learns of B’s removal first still shows C’s put linking B’s excluded nodes (anchors)', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const [b, c, reader, late] = await Promise.all(
    [0, 1, 2, 3].map(() => openOwned(t, { owner: owner.members!.self })),
  )
  await owner.members!.add(b!.members!.self)
  await owner.members!.add(c!.members!.self)
  await owner.members!.add(late!.members!.self)
  for (const kv of [b!, c!, reader!, late!]) await syncOwned(owner, kv)
  await b!.put('k', 'b1')
  await b!.put('k', 'b2') // links b1: the anchor of b2 needs b1's first
  await syncOwned(b!, c!)
  await c!.put('k', 'c1') // links b2
  await syncOwned(c!, owner)
  await syncOwned(c!, reader!)
  assert.deepEqual(await values(owner, 'k'), ['c1'])

  await owner.members!.remove(b!.members!.self, { upTo: 0 })
  await owner.ready()
  await owner.log.flush()
  const ownerLog = await owner.log.kappa.writer('hyperlog')
  // The owner's feed: its membership records stay in their own log; here its two anchors.
  assert.equal(ownerLog.length, 2, 'the owner anchored b2 and the b1 it links')
  await syncOwned(owner, reader!)
  await reader!.ready()
  await reader!.log.flush()
  assert.equal((await reader!.log.kappa.writer('hyperlog')).length, 0, 'a non-member writes no anchor')

  // A member that learns of the removal with the data takes none of B's feed, and shows c1.
  await syncOwned(owner, late!)
  await late!.ready()
  assert.equal(late!.log.kappa.feed(b!.members!.self)?.length ?? 0, 0, 'none of B’s feed is taken')
  assert.deepEqual(await values(late!, 'k'), ['c1'])
  // B's nodes stay hidden everywhere, the anchored ones too.
  const [b2] = await b!.log.heads()
  for (const kv of [owner, reader!, late!]) {
    for (const key of [b2!.key, ...b2!.links]) {
      await assert.rejects(kv.log.get(key), (err) => isKappaError(err, 'ERR_NOT_FOUND'))
    }
  }
  // C learns of the removal before the owner's anchors reach it, and anchors the same two nodes:
  // the same bytes, hidden as well; nothing shows differently anywhere.
  await syncOwned(owner, c!)
  await c!.ready()
  await c!.log.flush()
  assert.equal((await c!.log.kappa.writer('hyperlog')).length, 3, 'C’s put, then its own two anchors')
  await syncOwned(c!, late!)
  for (const kv of [owner, c!, late!]) {
    assert.deepEqual(await values(kv, 'k'), ['c1'])
    assert.deepEqual(
      (await kv.log.heads()).map((n) => n.key),
      [(await c!.log.heads())[0]!.key],
    )
  }
})

test('owned: a removal closed at once: its anchors are written before the close completes, or at the next open', async (t) => {
  const root = await tempDir(t)
  const owner = new HyperKV(join(root, 'owner'), { membership: { owner: true } })
  await owner.ready()
  const ownerKey = owner.members!.self
  const b = await openOwned(t, { owner: ownerKey })
  const c = await openOwned(t, { owner: ownerKey })
  await owner.members!.add(b.members!.self)
  await owner.members!.add(c.members!.self)
  await syncOwned(owner, b)
  await b.put('k', 'b1')
  await syncOwned(owner, b)
  await owner.put('k', 'o1') // links b1
  await owner.members!.remove(b.members!.self, { upTo: 0 })
  // Closed at once: the marks are committed with the recount; the close waits for a run under way
  // and a run stopped before it wrote leaves them for the open. Either way C shows o1.
  await owner.close()
  const again = new HyperKV(join(root, 'owner'), { membership: { owner: ownerKey } })
  t.after(() => again.close())
  await again.ready()
  await again.members!.ready()
  await again.ready()
  await syncOwned(again, c)
  assert.equal(c.log.kappa.feed(b.members!.self)?.length ?? 0, 0, 'none of B’s feed is taken')
  assert.deepEqual(await values(c, 'k'), ['o1'])
})

test('owned, partitioned: B’s puts past upTo vanish from B’s own store too once it learns of its removal', async (t) => {
  const owner = await openOwned(t, { owner: true })
  const b = await openOwned(t, { owner: owner.members!.self })
  await owner.members!.add(b.members!.self)
  await syncOwned(owner, b)
  await b.put('k', 'b1')
  await syncOwned(owner, b)
  // Cut off: the owner removes B at 1; B writes on and sees its own writes.
  await owner.members!.remove(b.members!.self)
  await b.put('k', 'b2')
  await b.put('late', 'b3')
  assert.deepEqual(await values(b, 'k'), ['b2'])
  await syncOwned(owner, b)
  await b.ready()
  assert.equal(b.members!.get(b.members!.self).status, 'removed')
  for (const kv of [owner, b]) {
    assert.deepEqual(await values(kv, 'k'), ['b1'])
    assert.deepEqual(await values(kv, 'late'), [])
  }
})

test('a block made on the log’s Multifeed itself reaches the register', async (t) => {
  const [a, b] = await openKvs(t, 2)
  await a.put('x', 'a1')
  await replicate(a, b)
  await b.put('x', 'b2')
  await replicate(a, b)
  assert.deepEqual(await values(a, 'x'), ['b2'])
  const bKey = await writerKey(b)
  const logs = a.log.kappa.multifeed
  // The log's Kappa hears of it ('block'), and the DAG recounts.
  await logs.block(bKey)
  await a.ready()
  assert.deepEqual(await values(a, 'x'), ['a1'])
  await logs.unblock(bKey)
  await a.ready()
  assert.deepEqual(await values(a, 'x'), ['b2'])
})

test('a block made while the store was closed is honoured at open: the DAG recounts, the register is built again', async (t) => {
  const dir = await tempDir(t)
  const [b] = await openKvs(t, 1)
  let a = new HyperKV(dir)
  await a.put('x', 'a1')
  await replicate(a, b)
  await b.put('x', 'b2')
  await b.put('only-b', 'b3')
  await replicate(a, b)
  assert.deepEqual(await values(a, 'x'), ['b2'])
  await a.close()
  const bKey = await writerKey(b)
  // The logs alone, as a Multifeed over the store's directory.
  const logs = new Multifeed(join(dir, 'logs'), { valueEncoding: 'binary' })
  await logs.ready()
  await logs.block(bKey)
  await logs.close()
  a = new HyperKV(dir)
  t.after(() => a.close())
  await a.ready()
  assert.deepEqual(await a.blocked(), [bKey])
  assert.deepEqual(await values(a, 'x'), ['a1'])
  assert.deepEqual(await values(a, 'only-b'), [])
})

test('a store that blocked a writer opens again: its change indexes wait for the DAG to load (then rebuild at its generation)', async (t) => {
  const dir = await tempDir(t)
  const [b] = await openKvs(t, 1)
  await b.put('x', 'from b')
  let a = new HyperKV(dir)
  await a.put('mine', 'a1')
  await replicate(a, b)
  const bKey = await writerKey(b)
  await a.block(bKey)
  assert.deepEqual(await values(a, 'x'), [])
  await a.close()
  // Twice: the first open may rebuild the register, the second finds it at the DAG's generation.
  for (let i = 0; i < 2; i++) {
    a = new HyperKV(dir)
    await a.ready()
    assert.deepEqual(await a.blocked(), [bKey])
    assert.deepEqual(await values(a, 'x'), [])
    assert.deepEqual(await values(a, 'mine'), ['a1'])
    await a.close()
  }
  a = new HyperKV(dir)
  t.after(() => a.close())
  await a.unblock(bKey)
  assert.deepEqual(await values(a, 'x'), ['from b'])
})
