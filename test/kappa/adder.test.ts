/**
 * multifeed-index's adder.js against Kappa: an adder view with in-memory state
 * closures, on real Hypercores in temp directories.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { decodePositions } from '../../src/kappa/messages.js'
import { levelView, type Entry, type ViewDb } from '../../src/kappa/index.js'
import { adder, adderStore, openCore, tempDir } from '../helpers/kappa.js'

function storedPositions(state: Uint8Array | undefined): number[] {
  assert.ok(state, 'a state was stored')
  return [...decodePositions(state).indexed.values()]
}

test('empty + ready called', async (t) => {
  const core = await openCore<number>(t)
  core.use('sum', adder())
  await core.ready()
  assert.equal(core.getState('sum').state, 'idle')
})

test('adder', async (t) => {
  const core = await openCore<number>(t)
  const view = adder()
  core.use('sum', view)
  const w = await core.writer('default')
  await w.append(10)
  await w.append(10)
  await w.append(10)
  await core.ready('sum')
  assert.equal(view.store.sum, 30)
  assert.deepEqual(storedPositions(view.store.state), [3])
})

test('adder: picks up where it left off', async (t) => {
  const dir = await tempDir(t)
  const store = adderStore()
  {
    const core = await openCore<number>(t, { dir })
    core.use('sum', adder({ store }))
    const w = await core.writer('default')
    await w.append([1, 2, 3])
    await core.ready()
    await core.close()
  }
  assert.equal(store.sum, 6)
  const copy = { ...store, sum: 0, batches: [] }
  const core = await openCore<number>(t, { dir })
  core.use('sum', adder({ store: copy }))
  const w = await core.writer('default')
  await w.append(7)
  await core.ready()
  assert.equal(copy.sum, 7, 'only the new entry was mapped')
  assert.deepEqual(copy.batches, [1])
})

test('adder /w slow versions', async (t) => {
  const core = await openCore<number>(t)
  const view = adder({ delay: 30 })
  core.use('sum', view)
  const w = await core.writer('default')
  for (const v of [10, 10, 10]) await w.append(v)
  await core.ready('sum')
  assert.equal(view.store.sum, 30)
  assert.deepEqual(storedPositions(view.store.state), [3])
})

test('adder /w many concurrent PUTs', async (t) => {
  const core = await openCore<number>(t)
  const view = adder({ maxBatch: 10 })
  core.use('sum', view)
  const w = await core.writer('default')
  let expected = 0
  const appends: Promise<number>[] = []
  for (let i = 0; i < 200; i++) {
    const n = Math.floor(Math.random() * 100)
    expected += n
    appends.push(w.append(n))
  }
  await Promise.all(appends)
  await core.ready('sum')
  assert.equal(view.store.sum, expected)
  assert.deepEqual(storedPositions(view.store.state), [200])
  assert.ok(
    view.store.batches.every((n) => n >= 1 && n <= 10),
    'every batch within maxBatch',
  )
})

test('adder /w index made AFTER db population', async (t) => {
  const core = await openCore<number>(t)
  const w = await core.writer('default')
  let expected = 0
  const values: number[] = []
  for (let i = 0; i < 200; i++) {
    values.push(i)
    expected += i
  }
  await w.append(values)
  const view = adder({ maxBatch: 50 })
  core.use('sum', view)
  await core.ready('sum')
  assert.equal(view.store.sum, expected)
  assert.deepEqual(storedPositions(view.store.state), [200])
  assert.deepEqual(view.store.batches, [50, 50, 50, 50])
})

test('adder /w async storage', async (t) => {
  const core = await openCore<number>(t)
  const view = adder({ asyncMap: 20 })
  core.use('sum', view)
  const w = await core.writer('default')
  await Promise.all([w.append(10), w.append(10), w.append(10)])
  await core.ready('sum')
  assert.equal(view.store.sum, 30)
  assert.deepEqual(storedPositions(view.store.state), [3])
})

test('adder /w async storage: ready', async (t) => {
  const core = await openCore<number>(t)
  const view = adder({ asyncMap: 20 })
  core.use('sum', view)
  const w = await core.writer('default')
  for (const v of [10, 10, 10]) {
    await w.append(v)
    await core.ready('sum')
  }
  assert.equal(view.store.sum, 30)
})

test('fs: adder (levelView on classic-level, reopened)', async (t) => {
  const dir = await tempDir(t)
  const sumView = (db: ClassicLevel<string, number>) =>
    levelView<number, { get: (core: unknown) => Promise<number | undefined> }, number>(
      db,
      (vdb: ViewDb<number>) => ({
        maxBatch: 7,
        async map(entries: Entry<number>[]) {
          let sum = (await vdb.get('sum')) ?? 0
          for (const e of entries) sum += e.value
          await vdb.put('sum', sum)
        },
        api: { get: () => vdb.get('sum') },
      }),
    )
  let expected = 0
  for (let round = 0; round < 2; round++) {
    const db = new ClassicLevel<string, number>(`${dir}/views`, { valueEncoding: 'json' })
    const core = await openCore<number>(t, { dir: `${dir}/logs` })
    const api = core.use('sum', sumView(db)).api.sum
    const w = await core.writer('default')
    for (let i = 0; i < 25; i++) {
      expected += i
      await w.append(i)
    }
    await core.ready('sum')
    assert.equal(await api.get(), expected)
    await core.close()
    await db.close()
  }
})
