/**
 * multifeed-index's version.js and batch.js / 'indexed event', and the version
 * bump of a populated levelView, which kappa-view wiped without rebuilding.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { levelView, type Entry, type ViewDb } from '../../src/kappa/index.js'
import { adder, adderStore, openCore, tempDir } from '../helpers/kappa.js'

test('version: reopening index @ same version -> no re-index', async (t) => {
  const dir = await tempDir(t)
  const store = adderStore()
  for (let round = 0; round < 2; round++) {
    const core = await openCore<number>(t, { dir })
    core.use('sum', 1, adder({ store, maxBatch: 10 }))
    if (round === 0) await (await core.writer('default')).append([10, 10, 10])
    await core.ready()
    await core.close()
  }
  assert.equal(store.sum, 30)
  assert.deepEqual(store.batches, [3], 'no batch on reopening')
  assert.equal(store.clears, 1, 'cleared only on the first start (no state yet)')
})

test('version: reopening index @ new version -> re-index -> reopen -> no re-index', async (t) => {
  const dir = await tempDir(t)
  const store = adderStore()
  const open = async (version: number, append?: number[]) => {
    const core = await openCore<number>(t, { dir })
    core.use('sum', version, adder({ store, maxBatch: 10 }))
    if (append) await (await core.writer('default')).append(append)
    await core.ready()
    await core.close()
  }
  await open(1, [10, 10, 10])
  assert.deepEqual([store.sum, store.clears, store.batches], [30, 1, [3]])
  await open(2)
  assert.deepEqual([store.sum, store.clears, store.batches], [30, 2, [3, 3]], 'cleared and rebuilt at v2')
  await open(2)
  assert.deepEqual([store.sum, store.clears, store.batches], [30, 2, [3, 3]], 'no re-index at the same v2')
})

test('version bump rebuilds a populated levelView to the right result', async (t) => {
  const dir = await tempDir(t)
  const db = new MemoryLevel<string, number>({ valueEncoding: 'json' })
  // v1 sums the values; v2 sums their doubles. Each keeps one key per entry too.
  const view = (factor: number) =>
    levelView(db, (vdb: ViewDb<number>) => ({
      async map(entries: Entry<number>[]) {
        let sum = (await vdb.get('sum')) ?? 0
        for (const e of entries) {
          sum += e.value * factor
          await vdb.put(`entry/${e.seq}`, e.value * factor)
        }
        await vdb.put('sum', sum)
      },
      api: {
        sum: () => vdb.get('sum'),
        entries: () => vdb.level.keys({ gte: 'entry/', lt: 'entry0' }).all(),
      },
    }))
  {
    const core = await openCore<number>(t, { dir })
    const api = core.use('sum', 1, view(1)).api.sum
    if (true as boolean) await (await core.writer('default')).append([1, 2, 3, 4])
    await core.ready()
    assert.equal(await api.sum(), 10)
    await core.close()
  }
  for (let reopen = 0; reopen < 2; reopen++) {
    const core = await openCore<number>(t, { dir })
    const api = core.use('sum', 2, view(2)).api.sum
    await core.ready()
    assert.equal(await api.sum(), 20, 'rebuilt with the v2 logic')
    assert.equal((await api.entries()).length, 4)
    await core.close()
  }
})

test('batch size: maxBatch 10 over 3 prior entries is one batch of 3', async (t) => {
  const core = await openCore<number>(t)
  const w = await core.writer('default')
  await w.append([10, 10, 10])
  const view = adder({ maxBatch: 10 })
  core.use('sum', view)
  await core.ready()
  assert.deepEqual(view.store.batches, [3])
  assert.equal(view.store.sum, 30)
})

test('batches hold contiguous entries of one feed, ≤ maxBatch; indexed after each', async (t) => {
  const core = await openCore<number>(t)
  // One after the other: concurrent writer() calls may add the feeds in either order.
  const a = await core.writer('a')
  const b = await core.writer('b')
  await a.append(Array.from({ length: 25 }, (_, i) => i))
  await b.append(Array.from({ length: 12 }, (_, i) => 100 + i))
  const batches: Entry<number>[][] = []
  const indexed: number[] = []
  core.use('rec', {
    maxBatch: 10,
    map(entries: Entry<number>[], next: () => void) {
      batches.push(entries)
      next()
    },
    indexed: (entries) => indexed.push(entries.length),
  })
  await core.ready()
  assert.deepEqual(
    batches.map((batch) => batch.length),
    [10, 10, 5, 10, 2],
    'the earlier feed drained first',
  )
  assert.deepEqual(indexed, [10, 10, 5, 10, 2])
  for (const batch of batches) {
    assert.ok(batch.every((e) => e.key === batch[0]!.key))
    assert.ok(batch.every((e, i) => e.seq === batch[0]!.seq + i))
  }
  const feedA = a.id
  assert.deepEqual(
    batches
      .flat()
      .filter((e) => e.key === feedA)
      .map((e) => e.value),
    Array.from({ length: 25 }, (_, i) => i),
  )
})

test('indexed event: 6 + 1 appends → Σ batch lengths 7', async (t) => {
  const core = await openCore<number>(t)
  let total = 0
  const view = adder({ maxBatch: 4 })
  view.indexed = (entries) => (total += entries.length)
  core.use('sum', view)
  const w = await core.writer('default')
  await w.append([1, 2, 3, 4, 5, 6])
  await w.append(7)
  await core.ready()
  assert.equal(total, 7)
})

test('a steadily written feed does not starve the feeds after it', async (t) => {
  const core = await openCore<number>(t)
  const [a, b] = await Promise.all([core.writer('a'), core.writer('b')])
  await b.append(1)
  const seen: string[] = []
  let appends = 0
  core.use('rec', {
    maxBatch: 1,
    async map(entries: Entry<number>[]) {
      seen.push(entries[0]!.key)
      // Feed a grows by one entry per batch indexed, for a while.
      if (appends++ < 50) await a.append(0)
    },
  })
  await a.append(0)
  await core.ready()
  assert.ok(seen.indexOf(b.id) >= 0 && seen.indexOf(b.id) < 5, 'feed b indexed within the first pass')
})
