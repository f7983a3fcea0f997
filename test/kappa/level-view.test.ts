/**
 * levelView (kappa-view's behaviour, its mapper test) and its staging (the rule of src/kappa/view-staging.ts):
 * map reads its own staged writes, synchronous api calls read committed data, writes after the
 * batch go straight to the db, sublevels and chained batches join the view batch, clearIndex clears
 * data and state.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { EventEmitter } from 'node:events'
import { MemoryLevel } from 'memory-level'
import { isKappaError } from '../../src/errors.js'
import { levelView, type Entry, type ViewDb } from '../../src/kappa/index.js'
import { openCore } from '../helpers/kappa.js'
import { until } from '../helpers/until.js'

type KV = { key: string; value: string }

/**
 * A sum view's `map` that stages the new sum, then holds its batch in flight until `release()`:
 * `inFlight()` resolves once a batch is held.
 */
function heldSum(vdb: ViewDb<number>): {
  map(entries: Entry<number>[]): Promise<void>
  inFlight(): Promise<void>
  release(): void
} {
  const gate = new EventEmitter()
  let mapping = false
  return {
    async map(entries) {
      const sum = (await vdb.get('sum')) ?? 0
      await vdb.put('sum', sum + entries.reduce((a, e) => a + e.value, 0))
      mapping = true
      await new Promise((resolve) => gate.once('go', resolve))
    },
    async inFlight() {
      await until(() => mapping, 'a map call in flight')
    },
    release: () => gate.emit('go'),
  }
}

test('mapper: entries mapped to puts; missing keys are notFound in callback style', async (t) => {
  const core = await openCore<KV>(t)
  const db = new MemoryLevel()
  const api = core.use(
    'mapper',
    levelView(db, (vdb: ViewDb<string>) => ({
      map(entries: Entry<KV>[], next: (err?: Error | null) => void) {
        vdb.batch(
          entries.map((e) => ({ type: 'put' as const, key: e.value.key, value: e.value.value })),
          next,
        )
      },
      api: {
        get(_core: unknown, key: string, cb: (err: Error | null, value: string) => void) {
          vdb.get(key, cb)
        },
      },
    })),
  ).api.mapper
  const w = await core.writer('default')
  await w.append([
    { key: 'foo', value: 'bar' },
    { key: 'bax', value: 'baz' },
  ])
  await new Promise<void>((resolve, reject) => core.ready('mapper', (err) => (err ? reject(err) : resolve())))
  const get = (key: string) =>
    new Promise<{ err: (Error & { notFound?: boolean }) | null; value: string }>((resolve) =>
      api.get(key, (err, value) => resolve({ err, value })),
    )
  assert.equal((await get('foo')).value, 'bar')
  assert.equal((await get('bax')).value, 'baz')
  const missing = await get('nix')
  assert.equal(missing.err?.notFound, true)
  assert.ok(isKappaError(missing.err, 'ERR_NOT_FOUND'))
})

test('map reads its own staged writes; api reads only committed data while a batch is in flight', async (t) => {
  const core = await openCore<number>(t)
  const db = new MemoryLevel<string, number>({ valueEncoding: 'json' })
  const release = new EventEmitter()
  const seenInMap: (number | undefined)[] = []
  const api = core.use(
    'sum',
    levelView(db, (vdb: ViewDb<number>) => ({
      maxBatch: 2,
      async map(entries: Entry<number>[]) {
        for (const e of entries) {
          // One put per entry: each read must see the previous staged put.
          const sum = (await vdb.get('sum')) ?? 0
          await vdb.put('sum', sum + e.value)
        }
        seenInMap.push(await vdb.get('sum'))
        await vdb.del('gone')
        seenInMap.push(await vdb.get('gone'))
        if (entries[0]!.seq === 2) await new Promise((resolve) => release.once('go', resolve))
      },
      api: { sum: () => vdb.get('sum') },
    })),
  ).api.sum
  await db.sublevel<string, number>('d', { valueEncoding: 'json' }).put('gone', 1)
  const w = await core.writer('default')
  await w.append([1, 2, 3, 4])
  await until(() => seenInMap.length >= 4, 'the second batch in map')
  assert.equal(await api.sum(), 3, 'the second batch is staged, not committed')
  release.emit('go')
  await core.ready()
  assert.equal(await api.sum(), 10)
  assert.deepEqual(seenInMap, [3, undefined, 10, undefined])
})

test('a write after the batch is done is not part of it: it goes straight to the db', async (t) => {
  const core = await openCore<number>(t)
  const db = new MemoryLevel()
  let late: Promise<void> | undefined
  const view = levelView(db, (vdb: ViewDb<string>) => ({
    map(_entries: Entry<number>[], next: () => void) {
      next()
      late = new Promise((resolve) => setImmediate(resolve)).then(() => vdb.put('late', 'x'))
    },
  }))
  core.use('leaky', view)
  await (await core.writer('default')).append(1)
  await core.ready()
  await late
  assert.equal(await db.sublevel('d').get('late'), 'x')
})

test('an api call that awaits before using the db while a batch is in flight joins that batch', async (t) => {
  const core = await openCore<number>(t)
  const db = new MemoryLevel<string, number>({ valueEncoding: 'json' })
  let held: ReturnType<typeof heldSum> | undefined
  const api = core.use(
    'sum',
    levelView(db, (vdb: ViewDb<number>) => ({
      map: (held = heldSum(vdb)).map,
      api: {
        now: () => vdb.get('sum'),
        async later() {
          await Promise.resolve()
          return vdb.get('sum')
        },
      },
    })),
  ).api.sum
  await (await core.writer('default')).append([1, 2])
  await held!.inFlight()
  assert.equal(await api.now(), undefined, 'synchronous api calls read committed data')
  assert.equal(await api.later(), 3, 'after an await, the call belongs to the batch in flight')
  held!.release()
  await core.ready()
  assert.equal(await api.now(), 3)
})

test('sublevels and chained batches join the view batch; api writes go straight to the db', async (t) => {
  const core = await openCore<number>(t)
  const db = new MemoryLevel<string, string>()
  const api = core.use(
    'multi',
    levelView(db, (vdb: ViewDb<string>) => {
      const byValue = vdb.sublevel<string>('v')
      return {
        async map(entries: Entry<number>[]) {
          const batch = vdb.batch()
          for (const e of entries) batch.put(`seq/${e.seq}`, String(e.value))
          await batch.write()
          for (const e of entries) await byValue.put(String(e.value), String(e.seq))
          assert.equal(await byValue.get(String(entries[0]!.value)), String(entries[0]!.seq))
        },
        api: {
          seqOf: (_core: unknown, value: number) => byValue.get(String(value)),
          note: (_core: unknown, text: string) => vdb.put('note', text),
          note2: () => vdb.get('note'),
        },
      }
    }),
  ).api.multi
  await (await core.writer('default')).append([7, 8])
  await core.ready()
  assert.equal(await api.seqOf(8), '1')
  await api.note('hi')
  assert.equal(await api.note2(), 'hi')
  assert.equal(await db.sublevel('d').get('seq/0'), '7')
})

test('clearIndex clears data and state', async (t) => {
  const db = new MemoryLevel<string, string>()
  const view = levelView(db, (vdb: ViewDb<string>) => ({
    map: (entries: Entry<number>[]) => vdb.put('n', String(entries.length)),
  }))
  const core = await openCore<number>(t)
  core.use('v', view)
  await (await core.writer('default')).append([1, 2])
  await core.ready()
  assert.ok((await db.keys().all()).length >= 2)
  await new Promise<void>((resolve, reject) => view.clearIndex!((err) => (err ? reject(err) : resolve())))
  assert.deepEqual(await db.keys().all(), [])
})

test('levelView and use() validate their arguments', async (t) => {
  const core = await openCore<number>(t)
  assert.throws(
    () => levelView({} as never, () => ({ map: () => undefined })),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  assert.throws(
    () => levelView(new MemoryLevel(), (() => ({})) as never),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  // An option levelView does not know, or a state hook it would replace, is refused by name.
  assert.throws(
    () => levelView(new MemoryLevel(), { valueEncodng: 'json' } as never, () => ({ map: () => undefined })),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT') && /valueEncodng/.test(err.message),
  )
  assert.throws(
    () =>
      levelView(new MemoryLevel(), () => ({ map: () => undefined, storeState: () => undefined }) as never),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT') && /storeState/.test(err.message),
  )
  for (const bad of [
    () => core.use('', { map: () => undefined }),
    () => core.use('x', 1.5, { map: () => undefined }),
    () => core.use('x', {} as never),
    () => core.use('x', { map: () => undefined, fetchState: () => undefined }),
    () => core.use('x', { map: () => undefined, maxBatch: 0 }),
  ]) {
    assert.throws(bad, (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  }
  core.use('x', { map: () => undefined })
  assert.throws(
    () => core.use('x', { map: () => undefined }),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

test('inside map a key staged as bytes is found as a string, non-ASCII keys included', async (t) => {
  const core = await openCore<number>(t)
  const db = new MemoryLevel<string, string>()
  const seen: (string | undefined)[] = []
  core.use(
    'keys',
    levelView(db, (vdb: ViewDb<string>) => ({
      async map() {
        await vdb.put(Buffer.from('ascii') as never, 'a')
        await vdb.put(Buffer.from('ünï') as never, 'u')
        seen.push(await vdb.get('ascii'), await vdb.get('ünï'), await vdb.get('other'))
      },
    })),
  )
  await (await core.writer('default')).append(1)
  await core.ready()
  assert.deepEqual(seen, ['a', 'u', undefined])
  assert.equal(await db.sublevel('d').get('ünï'), 'u')
})

test('a ready callback inside an api function reads committed data even if a batch is in flight by then', async (t) => {
  const core = await openCore<number>(t)
  const db = new MemoryLevel<string, number>({ valueEncoding: 'json' })
  let held: ReturnType<typeof heldSum> | undefined
  const view = levelView(db, (vdb: ViewDb<number>) => ({
    map: (held = heldSum(vdb)).map,
    api: {
      // The seed README's shape: read inside this.ready's callback.
      get(
        this: { ready(cb: () => void): void },
        _core: unknown,
        cb: (err: Error | null, v?: number) => void,
      ) {
        this.ready(() => void vdb.get('sum').then((v) => cb(null, v), cb))
      },
    },
  }))
  core.use('sum', view)
  await (await core.writer('default')).append([1, 2])
  await held!.inFlight()
  // Stand in for the view's handle: its ready callback fires now, with the batch in flight (the
  // race the wrapper guards against: a new batch may start between ready and its callback).
  const readyCallbacks: (() => void)[] = []
  const handle = { ready: (cb: () => void) => void readyCallbacks.push(cb) }
  const got = new Promise<number | undefined>((resolve, reject) =>
    view.api!.get.call(handle, core, (err, v) => (err ? reject(err) : resolve(v))),
  )
  readyCallbacks.forEach((cb) => cb())
  assert.equal(await got, undefined, 'the staged sum of the batch in flight is not visible')
  held!.release()
  await core.ready()
})
