/**
 * Membership on Kappa: an owned database's views count only what its members wrote; adding a
 * writer brings its whole feed in, removing it re-indexes the views down to `upTo`; non-admins
 * cannot change the members. Real stores replicating their data feeds over a pipe.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isKappaError } from '../../src/errors.js'
import type { Entry, Kappa } from '../../src/kappa/index.js'
import { openCore, sync } from '../helpers/kappa.js'

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
  assert.equal(owner.feed(bWriter.id)?.length, 5)
  assert.deepEqual(await shown(owner, seen), [`${ok}:o0`], 'a non-member’s entries are not shown')

  const changes: number[] = []
  o.on('change', () => changes.push(1))
  await o.add(bWriter.id)
  assert.deepEqual(o.get(bWriter.id), { status: 'member', role: 'writer' })
  assert.deepEqual(
    await shown(owner, seen),
    [`${ok}:o0`, ...[0, 1, 2, 3, 4].map((i) => `${bk}:b${i}`)].sort(),
  )

  await o.remove(bWriter.id, { upTo: 3 })
  assert.deepEqual(o.get(bWriter.id), { status: 'removed', role: 'writer', upTo: 3 })
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
  await assert.rejects(
    async () => openCore<string>(t, { membership: { owner: 'nope' } as never }),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})
