/**
 * ViewDb range reads (`iterator`, `keys`, `values`) and watches: inside `map` a range read merges
 * the batch's staged writes with committed data in key order; api reads see committed data; a
 * watch is told each commit's writes in range right after the commit, and a read that starts while
 * a commit is in flight starts after it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { isKappaError } from '../../src/errors.js'
import { levelView, type Entry, type ViewChange, type ViewDb } from '../../src/kappa/index.js'
import { openCore } from '../helpers/kappa.js'

/** An entry of the tests' logs: writes to do in one batch. */
type Op = { put?: Record<string, number>; del?: string[]; read?: ReadSpec }
type ReadSpec = { gt?: string; gte?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number }

test('inside map, a range read merges the staged writes with committed data, in key order', async (t) => {
  const core = await openCore<Op>(t)
  const reads: Array<Array<[string, number]>> = []
  const keysRead: string[][] = []
  const valuesRead: number[][] = []
  const api = core.use(
    'ops',
    levelView(new MemoryLevel({ valueEncoding: 'json' }), (vdb: ViewDb<number>) => ({
      maxBatch: 1,
      async map(entries: Entry<Op>[]) {
        for (const { value } of entries) {
          for (const [key, n] of Object.entries(value.put ?? {})) await vdb.put(key, n)
          for (const key of value.del ?? []) await vdb.del(key)
          if (value.read) {
            reads.push(await vdb.iterator(value.read).all())
            keysRead.push(await vdb.keys(value.read).all())
            valuesRead.push(await vdb.values(value.read).all())
          }
        }
      },
      api: {
        all: (_core: unknown, range?: ReadSpec) => vdb.iterator(range).all(),
      },
    })),
  ).api.ops
  const w = await core.writer('default')
  await w.append({ put: { b: 2, d: 4, f: 6 } })
  await core.ready()
  // Staged: a new key before, between and after committed ones; an overwrite; a delete.
  await w.append({ put: { a: 1, c: 3, g: 7, d: 40 }, del: ['f'], read: {} })
  await w.append({ put: { e: 5 }, del: ['b'], read: { reverse: true } })
  await w.append({ put: { h: 8 }, del: ['c'], read: { gt: 'b', lte: 'g', limit: 3 } })
  await w.append({ put: { b: 20 }, read: { gte: 'b', lt: 'e', reverse: true, limit: 2 } })
  await core.ready()
  assert.deepEqual(reads, [
    [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 40],
      ['g', 7],
    ],
    [
      ['g', 7],
      ['e', 5],
      ['d', 40],
      ['c', 3],
      ['a', 1],
    ],
    [
      ['d', 40],
      ['e', 5],
      ['g', 7],
    ],
    [
      ['d', 40],
      ['b', 20],
    ],
  ])
  assert.deepEqual(
    keysRead,
    reads.map((rows) => rows.map(([key]) => key)),
  )
  assert.deepEqual(
    valuesRead,
    reads.map((rows) => rows.map(([, value]) => value)),
  )
  assert.deepEqual(await api.all(), [
    ['a', 1],
    ['b', 20],
    ['d', 40],
    ['e', 5],
    ['g', 7],
    ['h', 8],
  ])
  assert.deepEqual(await api.all({ gt: 'b', limit: 2 }), [
    ['d', 40],
    ['e', 5],
  ])
})

test('as in abstract-level, gte wins over gt and lte over lt, for staged and committed rows alike', async (t) => {
  const core = await openCore<Op>(t)
  const inMap: Array<Array<[string, number]>> = []
  const api = core.use(
    'ops',
    levelView(new MemoryLevel({ valueEncoding: 'json' }), (vdb: ViewDb<number>) => ({
      async map(entries: Entry<Op>[]) {
        for (const { value } of entries) {
          for (const [key, n] of Object.entries(value.put ?? {})) await vdb.put(key, n)
          if (value.read) inMap.push(await vdb.iterator(value.read).all())
        }
      },
      api: { all: (_core: unknown, range?: ReadSpec) => vdb.iterator(range).all() },
    })),
  ).api.ops
  const w = await core.writer('default')
  await w.append({ put: { a: 1, c: 3 } })
  await core.ready()
  const both = { gt: 'd', gte: 'b', lt: 'b', lte: 'd' }
  await w.append({ put: { b: 2, d: 4 }, read: both })
  await core.ready()
  const expected: Array<[string, number]> = [
    ['b', 2],
    ['c', 3],
    ['d', 4],
  ]
  assert.deepEqual(inMap, [expected])
  assert.deepEqual(await api.all(both), expected)
})

test('a range read of a sublevel sees its staged writes; for-await and early exit release it', async (t) => {
  const core = await openCore<string>(t)
  const seen: string[][] = []
  core.use(
    'idx',
    levelView(new MemoryLevel(), (vdb: ViewDb<string>) => {
      const byWord = vdb.sublevel<string>('w')
      return {
        async map(entries: Entry<string>[]) {
          for (const e of entries) await byWord.put(`${e.value}!${e.seq}`, e.value)
          const words: string[] = []
          for await (const [key] of byWord.iterator()) {
            words.push(key)
            if (words.length === 3) break
          }
          seen.push(words)
        },
      }
    }),
  )
  const w = await core.writer('default')
  await w.append(['b', 'a'])
  await core.ready()
  await w.append(['c', 'a'])
  await core.ready()
  assert.deepEqual(seen, [
    ['a!1', 'b!0'],
    ['a!1', 'a!3', 'b!0'],
  ])
})

test('api range reads see committed data only, even while a batch is in flight', async (t) => {
  const core = await openCore<number>(t)
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let inFlight!: () => void
  const mapping = new Promise<void>((resolve) => (inFlight = resolve))
  const api = core.use(
    'n',
    levelView(new MemoryLevel({ valueEncoding: 'json' }), (vdb: ViewDb<number>) => ({
      async map(entries: Entry<number>[]) {
        for (const e of entries) await vdb.put(`k${e.value}`, e.value)
        if (entries.some((e) => e.value === 2)) {
          inFlight()
          await held
        }
      },
      api: { keys: () => vdb.keys().all() },
    })),
  ).api.n
  const w = await core.writer('default')
  await w.append(1)
  await core.ready()
  await w.append(2)
  await mapping
  assert.deepEqual(await api.keys(), ['k1'])
  release()
  await core.ready()
  assert.deepEqual(await api.keys(), ['k1', 'k2'])
})

test('range options are checked: a bad limit, bound or reverse is ERR_INVALID_ARGUMENT', async (t) => {
  const core = await openCore<number>(t)
  let vdb!: ViewDb<number>
  core.use(
    'x',
    levelView(new MemoryLevel(), (db: ViewDb<number>) => {
      vdb = db
      return { map: () => undefined }
    }),
  )
  await core.ready()
  for (const bad of [{ limit: 1.5 }, { gt: 3 }, { reverse: 'yes' }, null]) {
    assert.throws(
      () => vdb.iterator(bad as never),
      (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
    )
  }
  assert.throws(
    () => vdb.watch({ lt: {} } as never),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

/** A view that puts `key = value` for every entry `"key=value"` and deletes `key` for `"-key"`. */
function setter(vdb: ViewDb<string>) {
  return {
    async map(entries: Entry<string>[]) {
      for (const { value } of entries) {
        if (value.startsWith('-')) await vdb.del(value.slice(1))
        else if (value.includes('=')) await vdb.put(value.split('=')[0]!, value.split('=')[1]!)
      }
    },
    api: {
      watch: (_core: unknown, range?: { gte?: string; lt?: string }) => vdb.watch(range),
      get: (_core: unknown, key: string) => vdb.get(key),
      keys: () => vdb.keys().all(),
    },
  }
}

test("watch: 'change' after each committed batch with its writes in range; nothing for a batch without any", async (t) => {
  const core = await openCore<string>(t)
  const api = core.use('set', levelView(new MemoryLevel(), setter)).api.set
  const all: ViewChange<string, string>[][] = []
  const ranged: ViewChange<string, string>[][] = []
  const committedAtEvent: Array<string | undefined> = []
  const watch = api.watch()
  watch.on('change', (changes) => {
    all.push(changes)
    // After the commit: a committed read already sees the batch.
    const last = changes[changes.length - 1]!
    void api.get(last.key).then((v) => committedAtEvent.push(v))
  })
  api.watch({ gte: 'b', lt: 'c' }).on('change', (changes) => ranged.push(changes))
  const w = await core.writer('default')
  await w.append(['a=1', 'b=2'])
  await core.ready()
  await w.append(['no op', 'still nothing'])
  await core.ready()
  await w.append(['-a', 'c=3', 'b=4'])
  await core.ready()
  assert.deepEqual(all, [
    [
      { type: 'put', key: 'a', value: '1' },
      { type: 'put', key: 'b', value: '2' },
    ],
    [
      { type: 'del', key: 'a' },
      { type: 'put', key: 'c', value: '3' },
      { type: 'put', key: 'b', value: '4' },
    ],
  ])
  assert.deepEqual(ranged, [[{ type: 'put', key: 'b', value: '2' }], [{ type: 'put', key: 'b', value: '4' }]])
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(committedAtEvent, ['2', '4'])
  watch.close()
  assert.equal(watch.closed, true)
  await w.append('d=5')
  await core.ready()
  assert.equal(all.length, 2, 'a closed watch hears nothing')
  assert.equal(ranged.length, 2)
})

test('watch: values as a committed read returns them (json copies), writes straight to the db too', async (t) => {
  const core = await openCore<number>(t)
  const heard: ViewChange<string, { n: number }>[][] = []
  const staged: Array<{ n: number }> = []
  const api = core.use(
    'j',
    levelView(new MemoryLevel({ valueEncoding: 'json' }), (vdb: ViewDb<{ n: number }>) => ({
      async map(entries: Entry<number>[]) {
        for (const e of entries) {
          const value = { n: e.value }
          staged.push(value)
          await vdb.put(`k${e.seq}`, value)
        }
      },
      api: {
        watch: () => vdb.watch(),
        direct: (_core: unknown, key: string, n: number) => vdb.put(key, { n }),
      },
    })),
  ).api.j
  api.watch().on('change', (changes) => heard.push(changes))
  const w = await core.writer('default')
  await w.append(7)
  await core.ready()
  await api.direct('x', 9)
  assert.deepEqual(heard, [
    [{ type: 'put', key: 'k0', value: { n: 7 } }],
    [{ type: 'put', key: 'x', value: { n: 9 } }],
  ])
  const first = heard[0]![0]!
  assert.ok(first.type === 'put' && first.value !== staged[0], 'a decoded copy, not the object map staged')
})

test("a listener's exception surfaces as uncaught and the view goes on", async (t) => {
  const core = await openCore<string>(t)
  const api = core.use('set', levelView(new MemoryLevel(), setter)).api.set
  const uncaught: unknown[] = []
  const original = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  const onUncaught = (err: unknown) => uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  t.after(() => {
    process.off('uncaughtException', onUncaught)
    for (const l of original) process.on('uncaughtException', l)
  })
  api.watch().on('change', () => {
    throw new Error('listener bug')
  })
  const w = await core.writer('default')
  await w.append(['a=1'])
  await core.ready()
  await w.append(['b=2'])
  await core.ready()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(uncaught.length, 2)
  assert.deepEqual(await api.keys(), ['a', 'b'])
  assert.equal(core.getState('set').state, 'idle')
})

/** A memory-level whose array batches (a view's commits) wait for `hold` while it is set. */
function heldLevel(): MemoryLevel<string, string> & { hold: Promise<void> | null; committing: () => void } {
  const db = Object.assign(new MemoryLevel<string, string>({ valueEncoding: 'json' }), {
    hold: null as Promise<void> | null,
    committing: () => {},
  })
  const batch = db.batch.bind(db) as (...args: unknown[]) => Promise<void>
  ;(db as unknown as { batch: unknown }).batch = async (...args: unknown[]) => {
    if (db.hold) {
      db.committing()
      await db.hold
    }
    return batch(...args)
  }
  return db
}

test('a read that starts while a commit is in flight starts after it, and after its watch event', async (t) => {
  const core = await openCore<string>(t)
  const db = heldLevel()
  const api = core.use('set', levelView(db, setter)).api.set
  const order: string[] = []
  api.watch().on('change', (changes) => order.push(`change ${changes.map((c) => c.key).join()}`))
  const w = await core.writer('default')
  await w.append('a=1')
  await core.ready()
  let release!: () => void
  db.hold = new Promise<void>((resolve) => (release = resolve))
  const committing = new Promise<void>((resolve) => (db.committing = resolve))
  await w.append('b=2')
  await committing
  const read = api.keys().then((keys) => order.push(`read ${keys.join()}`))
  await new Promise((resolve) => setImmediate(resolve))
  db.hold = null
  release()
  await read
  await core.ready()
  assert.deepEqual(order, ['change a', 'change b', 'read a,b'])
})
