/**
 * Blocking on Kappa: a blocked feed counts for nothing, so its entries leave every view (a view
 * that indexed them is re-indexed), and come back on unblock; `withExcluded` views receive them
 * flagged instead and recount. Real stores replicating over a pipe.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isKappaError } from '../../src/errors.js'
import type { Entry } from '../../src/kappa/index.js'
import { latestView, openCore, sync, type KeyValue } from '../helpers/kappa.js'

type KV = KeyValue

test('block: the feed’s entries leave a levelView (re-indexed) and come back on unblock; blocked() lists it', async (t) => {
  const a = await openCore<KV>(t)
  const b = await openCore<KV>(t)
  const core = a.use('latest', latestView())
  const aw = await a.writer()
  const bw = await b.writer()
  await aw.append({ key: 'x', value: 'a1' })
  await sync(a, b)
  await bw.append([
    { key: 'x', value: 'b1' },
    { key: 'y', value: 'b2' },
  ])
  await sync(a, b)
  await a.ready()
  assert.equal(await core.api.latest.get('x'), 'b1')
  assert.equal(a.counted(bw.id), 2)

  await a.block(bw.id)
  assert.deepEqual(await a.blocked(), [bw.id])
  assert.equal(a.counted(bw.id), 0)
  assert.equal(a.countable(bw.id), 0)
  assert.equal(a.feed(bw.id)?.length, 2, 'the blocked feed stays stored')
  assert.equal(await core.api.latest.get('x'), 'a1', 'what the blocked entries overwrote is back')
  assert.equal(await core.api.latest.get('y'), undefined)

  await a.unblock(bw.id)
  assert.deepEqual(await a.blocked(), [])
  assert.equal(await core.api.latest.get('x'), 'b1')
  assert.equal(await core.api.latest.get('y'), 'b2')

  await assert.rejects(a.block(aw.id), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await assert.rejects(a.block('zz'), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
})

test('withExcluded: a view gets a blocked feed’s entries flagged and recounts on block and unblock', async (t) => {
  const a = await openCore<string>(t)
  const b = await openCore<string>(t)
  const seen: string[] = []
  let recounts = 0
  a.use('all', {
    withExcluded: true,
    map(entries: Entry<string>[]) {
      for (const e of entries) seen.push(`${e.value}${e.excluded ? ':excluded' : ''}`)
      return Promise.resolve()
    },
    recount() {
      recounts++
      return Promise.resolve()
    },
  })
  await a.ready()
  const started = recounts
  assert.equal(started, 1, 'a recount when the view starts')
  const bw = await b.writer()
  await bw.append('b0')
  await a.block(bw.id)
  assert.equal(recounts, 2)
  await sync(a, b)
  await a.ready()
  // A blocked feed is not downloaded: nothing arrives, nothing is indexed.
  assert.deepEqual(seen, [])
  await a.unblock(bw.id)
  assert.equal(recounts, 3)
  await sync(a, b)
  await a.ready()
  assert.deepEqual(seen, ['b0'])
  await bw.append('b1')
  await sync(a, b)
  await a.block(bw.id)
  await bw.append('b2')
  await a.ready()
  assert.deepEqual(seen, ['b0', 'b1'], 'the view is not cleared: it recounts')
  assert.equal(recounts, 4)
  // A view installed now reads the stored entries of the blocked feed, flagged.
  const late: string[] = []
  a.use('late', {
    withExcluded: true,
    map(entries: Entry<string>[]) {
      for (const e of entries) late.push(`${e.value}${e.excluded ? ':excluded' : ''}`)
      return Promise.resolve()
    },
  })
  await a.ready()
  assert.deepEqual(late, ['b0:excluded', 'b1:excluded'])
  assert.throws(
    () => a.use('bad', { map: () => undefined, recount: () => undefined } as never),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  for (const bad of [{ withExcluded: 1 }, { sparse: 'yes' }]) {
    assert.throws(
      () => a.use('bad', { map: () => undefined, ...bad } as never),
      (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
    )
  }
})

test('totalBlocks and the batches follow each feed that grows, a block and an unblock', async (t) => {
  const a = await openCore<number>(t)
  const b = await openCore<number>(t)
  const batches: string[] = []
  let clears = 0
  a.use('log', {
    maxBatch: 2,
    map: (entries: Entry<number>[], next: () => void) => {
      batches.push(entries.map((e) => `${e.key === aw.id ? 'a' : 'b'}${e.seq}`).join(','))
      next()
    },
    clearIndex: (next: () => void) => {
      clears++
      next()
    },
  })
  const aw = await a.writer()
  const bw = await b.writer()
  const context = () => a.getState('log').context
  await aw.append([1, 2, 3])
  await bw.append([4, 5])
  await sync(a, b)
  await a.ready()
  assert.deepEqual([context().totalBlocks, context().indexedBlocks], [5, 5])
  const before = batches.length

  await a.block(bw.id)
  assert.deepEqual([context().totalBlocks, context().indexedBlocks, clears], [3, 3, 2])
  assert.deepEqual(batches.slice(before), ['a0,a1', 'a2'], 're-indexed without the blocked feed')

  await a.unblock(bw.id)
  assert.deepEqual([context().totalBlocks, context().indexedBlocks], [5, 5])
  await aw.append(6)
  await a.ready()
  assert.deepEqual([context().totalBlocks, context().indexedBlocks], [6, 6])
  assert.deepEqual(batches.slice(before), ['a0,a1', 'a2', 'b0,b1', 'a3'])
})
