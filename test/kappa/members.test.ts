/**
 * Membership on Kappa: an owned database's views count only what its members wrote; adding a
 * writer brings its whole feed in, removing it re-indexes the views down to `upTo`; non-admins
 * cannot change the members. Real stores replicating their data feeds over a pipe.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isKappaError } from '../../src/errors.js'
import type { Entry, Kappa } from '../../src/kappa/index.js'
import { finished } from 'node:stream/promises'
import crypto from 'hypercore-crypto'
import { Multifeed } from '../../src/feeds/index.js'
import { writerFeedKey } from '../../src/feeds/writer-key.js'
import { membershipKeyOf } from '../../src/kappa/members.js'
import { encodeRecord, type WriterKey } from '../../src/membership/index.js'
import { latestView, openCore, sync, tempDir, type KeyValue } from '../helpers/kappa.js'
import { syncMembers, syncOwned } from '../helpers/owned.js'
import { socketPair } from '../helpers/sockets.js'

/** A view keeping every entry it was given, as `feed:value`; `clearIndex` forgets them. */
function entriesView() {
  const seen: string[] = []
  return {
    seen,
    view: {
      map(entries: Entry<string>[]) {
        for (const e of entries) seen.push(`${e.key.slice(0, 4)}:${e.value}`)
        return Promise.resolve()
      },
      clearIndex() {
        seen.length = 0
        return Promise.resolve()
      },
    },
  }
}

async function shown(core: Kappa<string>, seen: string[]): Promise<string[]> {
  await core.ready()
  return [...seen].sort()
}

test('an owned database counts only its members’ entries; add brings a whole feed in, remove cuts it at upTo', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  const { seen, view } = entriesView()
  owner.use('entries', view)
  await owner.ready()
  const o = owner.members!
  const ownerWriter = await owner.writer()
  assert.equal(o.self, ownerWriter.id)
  assert.deepEqual(o.list(), [{ key: o.self, status: 'member', role: 'admin' }])

  const b = await openCore<string>(t, { membership: { owner: o.self } })
  await b.ready()
  const bWriter = await b.writer()
  const bk = bWriter.id.slice(0, 4)
  const ok = ownerWriter.id.slice(0, 4)
  await ownerWriter.append('o0')
  await bWriter.append(['b0', 'b1', 'b2', 'b3', 'b4'])
  await sync(owner, b)
  assert.equal(owner.feed(bWriter.id), undefined, 'a non-member’s feed is not taken')
  assert.deepEqual(await shown(owner, seen), [`${ok}:o0`], 'a non-member’s entries are not shown')
  assert.equal(owner.countable(bWriter.id), 0, 'none of a non-member’s entries can count')
  assert.equal(b.countable(bWriter.id), 0, 'not even in its own store')
  assert.equal(b.counted(bWriter.id), 0)
  assert.equal(owner.countable(ownerWriter.id), Infinity)

  const changes: number[] = []
  o.on('change', () => changes.push(1))
  await o.add(bWriter.id)
  assert.deepEqual(o.get(bWriter.id), { status: 'member', role: 'writer' })
  // B serves its own feed while no record names it (it may have been added elsewhere).
  await sync(owner, b)
  assert.equal(owner.feed(bWriter.id)?.length, 5)
  assert.deepEqual(
    await shown(owner, seen),
    [`${ok}:o0`, ...[0, 1, 2, 3, 4].map((i) => `${bk}:b${i}`)].sort(),
  )

  await o.remove(bWriter.id, { upTo: 3 })
  assert.deepEqual(o.get(bWriter.id), { status: 'removed', role: 'writer', upTo: 3 })
  assert.equal(owner.countable(Buffer.from(bWriter.id, 'hex')), 3)
  assert.deepEqual(
    [...seen].sort(),
    [`${ok}:o0`, `${bk}:b0`, `${bk}:b1`, `${bk}:b2`].sort(),
    'remove resolves once the view re-indexed',
  )
  assert.ok(changes.length >= 2)

  // B, cut off from the owner's records, writes on; none of it shows.
  await bWriter.append(['b5', 'b6'])
  await sync(owner, b)
  assert.deepEqual(await shown(owner, seen), [`${ok}:o0`, `${bk}:b0`, `${bk}:b1`, `${bk}:b2`].sort())
})

test('the membership survives reopening', async (t) => {
  const first = await openCore<string>(t, { membership: { owner: true } })
  await first.ready()
  const other = '11'.repeat(32)
  await first.members!.add(other, { role: 'admin' })
  await first.members!.remove('22'.repeat(32), { upTo: 0 })
  const rows = first.members!.list()
  const dir = first.dir
  await first.close()
  const again = await openCore<string>(t, { dir, membership: { owner: true } })
  await again.ready()
  assert.deepEqual(again.members!.list(), rows)
  // Records appended after reopening count at once (the log's earlier records read once).
  await again.members!.remove(other, { upTo: 0 })
  assert.deepEqual(again.members!.get(other), { status: 'removed', role: 'admin', upTo: 0 })
  await again.members!.add('33'.repeat(32))
  assert.deepEqual(again.members!.get('33'.repeat(32)), { status: 'member', role: 'writer' })
})

test('only admins change members; the owner cannot be removed; bad arguments change nothing', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const b = await openCore<string>(t, { membership: { owner: owner.members!.self } })
  await b.ready()
  await assert.rejects(b.members!.add('33'.repeat(32)), (err) => isKappaError(err, 'ERR_NOT_WRITABLE'))
  await assert.rejects(b.members!.remove('33'.repeat(32)), (err) => isKappaError(err, 'ERR_NOT_WRITABLE'))
  const o = owner.members!
  await assert.rejects(o.remove(o.self), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await assert.rejects(o.add('zz'), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await assert.rejects(o.remove('44'.repeat(32), { upTo: 1 }), (err) =>
    isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  assert.deepEqual(o.list(), [{ key: o.self, status: 'member', role: 'admin' }])
})

test('an open database has no members object; a bad membership option throws', async (t) => {
  const open = await openCore<string>(t)
  assert.equal(open.members, null)
  assert.equal(open.countable('ab'.repeat(32)), Infinity, 'in an open database every entry can count')
  assert.throws(
    () => open.countable('nope'),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  await assert.rejects(
    async () => openCore<string>(t, { membership: { owner: 'nope' } as never }),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

test('partition: the owner removes B at upTo 3 while B, cut off, appends 3..5; after healing both hold exactly B’s 0..2', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  const ownerView = entriesView()
  owner.use('entries', ownerView.view)
  await owner.ready()
  const b = await openCore<string>(t, { membership: { owner: owner.members!.self } })
  const bView = entriesView()
  b.use('entries', bView.view)
  await b.ready()
  const bWriter = await b.writer()
  const bk = bWriter.id.slice(0, 4)
  await owner.members!.add(bWriter.id)
  await bWriter.append(['b0', 'b1', 'b2'])
  await syncOwned(owner, b)
  assert.deepEqual(b.members!.get(bWriter.id), { status: 'member', role: 'writer' })
  const first = [0, 1, 2].map((i) => `${bk}:b${i}`).sort()
  assert.deepEqual(await shown(owner, ownerView.seen), first)

  // Cut off: the owner removes B at 3 (what it holds); B appends 3..5 and indexes them.
  await owner.members!.remove(bWriter.id)
  await bWriter.append(['b3', 'b4', 'b5'])
  assert.equal((await shown(b, bView.seen)).length, 6)
  let removed = 0
  b.on('removed', () => removed++)

  await syncOwned(owner, b)
  assert.deepEqual(b.members!.get(bWriter.id), { status: 'removed', role: 'writer', upTo: 3 })
  assert.deepEqual(await shown(owner, ownerView.seen), first)
  assert.deepEqual(await shown(b, bView.seen), first, 'B’s own view re-indexed down to upTo')
  assert.equal(removed, 1)
  await assert.rejects(bWriter.append('b6'), (err) => isKappaError(err, 'ERR_NOT_WRITABLE'))
  assert.equal(bWriter.length, 6)
})

test('two admins adding writers concurrently keep both; a removal past an admin’s point does not count', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const a = await openCore<string>(t, { membership: { owner: owner.members!.self } })
  await a.ready()
  await owner.members!.add(a.members!.self, { role: 'admin' })
  await syncOwned(owner, a)
  assert.deepEqual(a.members!.get(a.members!.self), { status: 'member', role: 'admin' })
  const x = '0a'.repeat(32)
  const y = '0b'.repeat(32)
  await Promise.all([owner.members!.add(x), a.members!.add(y)])
  // Cut off: the owner removes A (pinning A's membership log at 1 record); A then adds y's removal.
  await syncOwned(owner, a)
  await owner.members!.remove(a.members!.self)
  await a.members!.remove(x, { upTo: 0 })
  await syncOwned(owner, a)
  for (const core of [owner, a]) {
    assert.deepEqual(
      core.members!.get(x),
      { status: 'member', role: 'writer' },
      'A’s removal came past its point',
    )
    assert.deepEqual(core.members!.get(y), { status: 'member', role: 'writer' })
    assert.equal(core.members!.get(a.members!.self).status, 'removed')
  }
})

test('levelView: a removal after indexing re-indexes the view, restoring what the removed entries overwrote', async (t) => {
  type KV = KeyValue
  const owner = await openCore<KV>(t, { membership: { owner: true } })
  const view = owner.use('latest', latestView()).api.latest
  await owner.ready()
  const b = await openCore<KV>(t, { membership: { owner: owner.members!.self } })
  await b.ready()
  const bWriter = await b.writer()
  await owner.members!.add(bWriter.id)
  await bWriter.append([
    { key: 'k', value: 'first' },
    { key: 'k', value: 'second' },
    { key: 'only-late', value: 'x' },
  ])
  await sync(owner, b)
  await owner.ready()
  assert.equal(await view.get('k'), 'second')
  assert.equal(await view.get('only-late'), 'x')
  await owner.members!.remove(bWriter.id, { upTo: 1 })
  assert.equal(await view.get('k'), 'first')
  assert.equal(await view.get('only-late'), undefined)
})

test('a non-member’s membership log, replicated in, grants nothing', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  // A hostile store: a membership log of its own key pair in the right namespace, naming itself admin.
  const dir = await tempDir(t, 'kappadb-hostile-log-')
  const hostile = new Multifeed<Buffer>(dir, {
    key: membershipKeyOf(owner.multifeed.key),
    valueEncoding: 'binary',
  })
  t.after(() => hostile.close())
  const keyPair = crypto.keyPair()
  const log = await hostile.writer('log', { keyPair })
  const self = writerFeedKey(keyPair.publicKey)
  const x = '0c'.repeat(32) as WriterKey
  await log.append([
    encodeRecord({ type: 'add', member: self as string as WriterKey, role: 'admin' }),
    encodeRecord({ type: 'add', member: x, role: 'writer' }),
    Buffer.from('not a record'),
  ])
  const left = owner.members!.replicate(true)
  const right = hostile.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await owner.members!.ready()
  assert.deepEqual(owner.members!.get(self), { status: 'none' })
  assert.deepEqual(owner.members!.get(x), { status: 'none' })
  // Nor does the owner take that log: a non-admin's log is not replicated.
  assert.equal(owner.members!.get(self).status, 'none')
  // Once the owner makes that key an admin, its log replicates and its records count.
  await owner.members!.add(self, { role: 'admin' })
  const again = [owner.members!.replicate(true), hostile.replicate(false)]
  again[0]!.pipe(again[1]!).pipe(again[0]!)
  await Promise.all(again.map((stream) => finished(stream)))
  await owner.members!.ready()
  assert.deepEqual(owner.members!.get(x), { status: 'member', role: 'writer' })
})

test('a removed writer that rewrote its history below upTo is excluded entirely where that history is held', async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  const ownerView = entriesView()
  owner.use('entries', ownerView.view)
  await owner.ready()
  const opts = { membership: { owner: owner.members!.self } }
  // B's key pair writes one history in one store, and another in a second store (a fork).
  const keyPair = crypto.keyPair()
  const b1 = await openCore<string>(t, opts)
  const b2 = await openCore<string>(t, opts)
  const b2View = entriesView()
  b2.use('entries', b2View.view)
  await b2.ready()
  const w1 = await b1.writer('w', { keyPair })
  const w2 = await b2.writer('w', { keyPair })
  assert.equal(w1.id, w2.id)
  const bk = w1.id.slice(0, 4)
  await w1.append(['b0', 'b1', 'b2', 'b3', 'b4'])
  await w2.append(['x0', 'x1', 'x2', 'x3', 'x4'])
  await owner.members!.add(w1.id)
  await syncMembers(owner, b1)
  await syncOwned(owner, b1)
  await syncMembers(owner, b2)
  assert.equal((await shown(b2, b2View.seen)).length, 5, 'B2 counts its history while B is a member')

  await owner.members!.remove(w1.id, { upTo: 3 })
  const kept = ['b0', 'b1', 'b2'].map((v) => `${bk}:${v}`)
  assert.deepEqual(
    await shown(owner, ownerView.seen),
    kept,
    'the history the removal pinned counts below upTo',
  )
  // B2 holds another history at the pinned length: none of it counts there, not even below upTo.
  await syncMembers(owner, b2)
  assert.deepEqual(b2.members!.get(w1.id), { status: 'removed', role: 'writer', upTo: 3 })
  assert.deepEqual(await shown(b2, b2View.seen), [])

  // D takes B's log from the owner (up to upTo): its first 3 count there.
  const d = await openCore<string>(t, opts)
  const dView = entriesView()
  d.use('entries', dView.view)
  await d.ready()
  await syncOwned(owner, d)
  assert.deepEqual(await shown(d, dView.seen), kept)
})

test("live: 'caught-up' waits for the membership records the peer offered, folded, and what they let count", async (t) => {
  const owner = await openCore<string>(t, { membership: { owner: true } })
  await owner.ready()
  const o = owner.members!
  // Many records in many blocks: the membership log takes longer to arrive than the one data block.
  const added: string[] = []
  for (let i = 0; i < 150; i++) {
    const key = crypto.keyPair().publicKey.toString('hex')
    added.push(key)
    await o.add(key)
  }
  await (await owner.writer()).append('o0')

  const replica = await openCore<string>(t, { membership: { owner: o.self } })
  const { seen, view } = entriesView()
  replica.use('entries', view)
  await replica.ready()
  const [left, right] = await socketPair()
  const sa = owner.replicate(left, { live: true })
  const sb = replica.replicate(right, { live: true })
  t.after(() => {
    sa.destroy()
    sb.destroy()
  })
  await new Promise<void>((resolve) => sb.once('caught-up', () => resolve()))
  const members = replica.members!.list().map((m) => m.key)
  for (const key of added) assert.ok(members.includes(key as WriterKey), 'every record offered is folded in')
  assert.deepEqual(seen, [`${o.self.slice(0, 4)}:o0`])
})
