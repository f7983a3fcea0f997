/**
 * Reserved seqs on a writable feed: `reserve(n)` hands out the next seqs before their entries
 * exist, `appendReserved` fills them in order, `unreserve` gives back what a failed write held,
 * and a plain `append` cannot take a reserved seq.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isKappaError } from '../../src/errors.js'
import type { Feed } from '../../src/feeds/types.js'
import { create } from '../helpers/feeds.js'

test('reserve: seqs past length and every earlier reservation; appendReserved fills them in order', async (t) => {
  const m = await create<string>(t, { valueEncoding: 'utf-8' })
  const w = await m.writer()
  await w.append(['a', 'b'])
  assert.equal(w.reservedLength, 2)
  assert.equal(w.reserve(3), 2)
  assert.equal(w.reserve(1), 5)
  assert.equal(w.reservedLength, 6)
  assert.equal(w.length, 2, 'nothing appended yet')
  // Out of order, or past the reservation: refused, nothing written.
  await assert.rejects(w.appendReserved(5, ['f']), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await assert.rejects(w.appendReserved(2, ['c', 'd', 'e', 'f', 'g']), (err) =>
    isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  assert.equal(w.length, 2)
  assert.equal(await w.appendReserved(2, ['c', 'd', 'e']), 2)
  assert.equal(await w.appendReserved(5, ['f']), 5)
  assert.equal(w.length, 6)
  assert.equal(w.reservedLength, 6)
  assert.deepEqual(await w.getBatch(0, 6), ['a', 'b', 'c', 'd', 'e', 'f'])
  // Nothing reserved any more: a plain append goes on.
  assert.equal(await w.append('g'), 6)
})

test('a plain append cannot take reserved seqs; unreserve gives them back', async (t) => {
  const m = await create<string>(t, { valueEncoding: 'utf-8' })
  const w = await m.writer()
  const first = w.reserve(2)
  assert.equal(first, 0)
  await assert.rejects(w.append('x'), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  assert.equal(w.length, 0)
  // A reservation of what is appended already, or not reserved, cannot be given back.
  assert.throws(
    () => w.unreserve(3),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  w.unreserve(1)
  assert.equal(w.reservedLength, 1)
  assert.equal(await w.appendReserved(0, ['r']), 0)
  assert.throws(
    () => w.unreserve(0),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  assert.equal(w.reserve(1), 1)
  w.unreserve(1)
  assert.equal(await w.append('y'), 1)
  assert.deepEqual(await w.getBatch(0, 2), ['r', 'y'])
})

test('reserve refuses bad counts, a feed of another writer, and a plain append in flight', async (t) => {
  const m = await create<string>(t, { valueEncoding: 'utf-8' })
  const w = await m.writer()
  for (const count of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => w.reserve(count),
      (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
    )
  }
  const appending = w.append('a')
  assert.throws(
    () => w.reserve(1),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  await appending
  assert.equal(w.reserve(1), 1)

  const other = await create<string>(t, { valueEncoding: 'utf-8' })
  const ow = await other.writer()
  await ow.append('z')
  const [ra, rb] = [m.replicate(true), other.replicate(false)]
  ra.pipe(rb).pipe(ra)
  const remote = await new Promise<Feed<string>>((resolve) => {
    const found = () => m.feeds().find((f) => f.id === ow.id)
    const feed = found()
    if (feed) resolve(feed)
    else m.on('feed', (f) => f.id === ow.id && resolve(f))
  })
  assert.throws(
    () => remote.reserve(1),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  ra.destroy()
  rb.destroy()
})
