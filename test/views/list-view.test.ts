/**
 * listView against kappa-view-list's behaviour: entries in the order of the
 * sort keys `map` derives, level-style ranges, `onInsert`, both call styles — plus what kappadb
 * adds: ties in one order on every replica, numbers, live reads and watches, several writers
 * replicating in different orders ending with equal lists.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { once } from 'node:events'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { isKappaError } from '../../src/errors.js'
import {
  listView,
  type Entry,
  type Kappa,
  type ListReadOptions,
  type ListViewApi,
  type SortKey,
} from '../../src/index.js'
import { openCore, sync, tempDir } from '../helpers/kappa.js'
import { Prng } from '../helpers/prng.js'

interface Doc {
  timestamp?: string | number
  id?: string
  n?: number
}

/** kappa-view-list's README view, callback style: docs by timestamp, docs without one left out. */
const byTimestamp = (msg: Entry<Doc>, next: (err?: Error | null, keys?: SortKey[]) => void) => {
  if (msg.value.timestamp === undefined) return next()
  next(null, [msg.value.timestamp])
}

async function chat(t: Parameters<typeof openCore>[0], opts: { maxBatch?: number } = {}) {
  const core = await openCore<Doc>(t)
  return core.use('timestamp', listView(new MemoryLevel(), byTimestamp, opts))
}

const values = (entries: Entry<Doc>[]) => entries.map((e) => e.value)

test("kappa-view-list's README: read({ limit: 2 }) gives the 2017 doc, then 2018-11; onInsert for seq 0, 1, 2", async (t) => {
  const core = await chat(t)
  const inserted: number[] = []
  core.api.timestamp.onInsert((msg) => inserted.push(msg.seq))
  const docs = [
    { timestamp: '2018-11-04T17:45:55.524Z', id: 'foo' },
    { timestamp: '2017-11-04T12:15:00.524Z', id: 'foo', n: 3 },
    { timestamp: '2018-12-04T07:00:00.524Z', id: 'foo', n: 12 },
  ]
  const feed = await core.writer('local')
  await feed.append(docs)
  const viaCallback = await new Promise<Entry<Doc>[]>((resolve, reject) =>
    core.api.timestamp.read({ limit: 2 }, (err, entries) => (err ? reject(err) : resolve(entries))),
  )
  assert.deepEqual(values(viaCallback), [docs[1], docs[0]])
  assert.deepEqual(
    viaCallback.map((e) => [e.key, e.seq]),
    [
      [feed.id, 1],
      [feed.id, 0],
    ],
  )
  assert.deepEqual(values(await core.api.timestamp.read().toArray()), [docs[1], docs[0], docs[2]])
  const streamed: Doc[] = []
  for await (const entry of core.api.timestamp.read({ reverse: true })) streamed.push(entry.value)
  assert.deepEqual(streamed, [docs[2], docs[0], docs[1]])
  assert.deepEqual(inserted, [0, 1, 2])
})

test('ranges on the sort key (gt/gte/lt/lte, reverse, limit); entries without a key are left out', async (t) => {
  const core = await chat(t, { maxBatch: 2 })
  const feed = await core.writer('default')
  await feed.append([
    { timestamp: '2017' },
    { id: 'no timestamp' },
    { timestamp: '2019' },
    { timestamp: '2018' },
    { timestamp: '2010' },
    { timestamp: '2018-06' },
  ])
  const read = async (opts: ListReadOptions) =>
    (await core.api.timestamp.read(opts).toArray()).map((e) => e.value.timestamp)
  assert.deepEqual(await read({}), ['2010', '2017', '2018', '2018-06', '2019'])
  assert.deepEqual(await read({ gte: '2017', lt: '2018-06' }), ['2017', '2018'])
  assert.deepEqual(await read({ gt: '2017', lte: '2018-06' }), ['2018', '2018-06'])
  assert.deepEqual(await read({ gt: '2018', reverse: true }), ['2019', '2018-06'])
  assert.deepEqual(await read({ lt: '2019', reverse: true, limit: 2 }), ['2018-06', '2018'])
  assert.deepEqual(await read({ gte: '2018', lte: '2018' }), ['2018'])
  assert.deepEqual(await read({ limit: 0 }), [])
})

test('numbers sort numerically and before strings; several keys put an entry in several places', async (t) => {
  const core = await openCore<{ at: SortKey[] }>(t)
  const list = core.use(
    'l',
    listView(new MemoryLevel(), (entry: Entry<{ at: SortKey[] }>) => entry.value.at),
  ).api.l
  const feed = await core.writer('default')
  await feed.append([{ at: [10] }, { at: [-2.5, 'b'] }, { at: [0] }, { at: ['a', 2] }, { at: [-0, 1e300] }])
  const rows = await list.read().toArray()
  assert.deepEqual(
    rows.map((e) => e.seq),
    [1, 2, 4, 3, 0, 4, 3, 1],
  )
  assert.deepEqual(
    (await list.read({ gte: 0, lt: 'a' }).toArray()).map((e) => e.seq),
    [2, 4, 3, 0, 4],
    'the two zeros (0 and -0) tie, by seq',
  )
})

test('a map that fails or returns a bad key fails the view with ERR_VIEW_FAILED', async (t) => {
  const core = await openCore<{ key: unknown }>(t)
  const errors: Error[] = []
  core.on('error', (err) => errors.push(err))
  core.use(
    'bad',
    listView(new MemoryLevel(), (entry: Entry<{ key: unknown }>) => entry.value.key as SortKey),
  )
  const feed = await core.writer('default')
  await feed.append({ key: { not: 'a key' } })
  await assert.rejects(core.ready('bad'), (err: unknown) => isKappaError(err, 'ERR_VIEW_FAILED'))
  assert.equal(errors.length, 1)
  assert.throws(
    () => listView(new MemoryLevel(), 'nope' as never),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  const list = core.use(
    'ok',
    listView(new MemoryLevel(), () => 'k'),
  ).api.ok
  assert.throws(
    () => list.read({ gt: {} as never }),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  const viaCallback = await new Promise<Error | null>((resolve) =>
    list.read({ limit: 0.5 }, (err) => resolve(err)),
  )
  assert.ok(isKappaError(viaCallback, 'ERR_INVALID_ARGUMENT'))
})

/** The list of every core as `[feed, seq, timestamp]`. */
async function listed(core: Kappa<Doc, { timestamp: ListViewApi<Doc> }>) {
  return (await core.api.timestamp.read().toArray()).map((e) => [e.key, e.seq, e.value.timestamp])
}

test('several writers, replication in different orders: every replica lists the same entries in the same order', async (t) => {
  const prng = new Prng(Number(process.env.SEED ?? 1717))
  const peers = await Promise.all([0, 1, 2].map(() => chat(t, { maxBatch: 3 })))
  for (const [i, peer] of peers.entries()) {
    const feed = await peer.writer('default')
    // Timestamps from a small set, so entries of different writers tie.
    const docs = Array.from({ length: 12 }, (_, n) => ({ timestamp: `t${prng.int(0, 5)}`, n, id: `p${i}` }))
    for (let at = 0; at < docs.length; at += 4) await feed.append(docs.slice(at, at + 4))
  }
  // Three orders of pairwise syncs: each replica receives the others' feeds in another order.
  await sync(peers[0]!, peers[1]!)
  await sync(peers[2]!, peers[0]!)
  await sync(peers[1]!, peers[2]!)
  await Promise.all(peers.map((p) => p.ready()))
  const lists = await Promise.all(peers.map(listed))
  assert.equal(lists[0]!.length, 36)
  assert.deepEqual(lists[1], lists[0])
  assert.deepEqual(lists[2], lists[0])
  const stamps = lists[0]!.map((row) => row[2] as string)
  assert.deepEqual(stamps, [...stamps].sort(), 'ascending by timestamp')
  for (let i = 1; i < lists[0]!.length; i++) {
    const [fa, sa, ta] = lists[0]![i - 1]!
    const [fb, sb, tb] = lists[0]![i]!
    if (ta === tb)
      assert.ok(fa! < fb! || (fa === fb && (sa as number) < (sb as number)), 'ties by feed, then seq')
  }
})

test('live read: the existing entries, then each entry inserted in range as it is indexed, local or replicated', async (t) => {
  const a = await chat(t)
  const b = await chat(t)
  const wa = await a.writer('default')
  await wa.append([{ timestamp: 'b' }, { timestamp: 'x' }])
  await a.ready()
  const stream = a.api.timestamp.read({ live: true, gte: 'a', lt: 'm' })
  const rows = stream[Symbol.asyncIterator]()
  const next = async () => String((await rows.next()).value.value.timestamp)
  assert.equal(await next(), 'b')
  await wa.append([{ timestamp: 'z' }, { timestamp: 'c' }])
  assert.equal(await next(), 'c')
  await (await b.writer('default')).append({ timestamp: 'a1' })
  await sync(a, b)
  assert.equal(await next(), 'a1', 'live entries come in indexing order')
  stream.destroy()
  await once(stream, 'close')
  const fresh = a.api.timestamp.read({ live: true, old: false })
  const first = once(fresh, 'data')
  await wa.append({ timestamp: 'q' })
  assert.equal(((await first)[0] as Entry<Doc>).value.timestamp, 'q', 'old: false starts with new entries')
  fresh.destroy()
})

test('live read started while entries are being indexed: every entry exactly once', async (t) => {
  const core = await chat(t, { maxBatch: 1 })
  const feed = await core.writer('default')
  const total = 60
  const writes = (async () => {
    for (let i = 0; i < total; i++) await feed.append({ timestamp: `k${String(i).padStart(3, '0')}` })
  })()
  // Start the read mid-way, while batches commit.
  while (feed.length < total / 3) await new Promise((resolve) => setImmediate(resolve))
  const stream = core.api.timestamp.read({ live: true })
  const seen: string[] = []
  for await (const entry of stream) {
    seen.push(String(entry.value.timestamp))
    if (seen.length === total) break
  }
  await writes
  await core.ready()
  assert.deepEqual(
    [...seen].sort(),
    Array.from({ length: total }, (_, i) => `k${String(i).padStart(3, '0')}`),
  )
})

test("watch: 'change' after each committed batch with the entries it inserted in range; none for a batch without any", async (t) => {
  const core = await chat(t, { maxBatch: 2 })
  const all: Array<Array<string | number | undefined>> = []
  const ranged: Array<Array<string | number | undefined>> = []
  let readAtEvent: Promise<number> | null = null
  const watch = core.api.timestamp.watch()
  watch.on('change', (entries) => {
    all.push(entries.map((e) => e.value.timestamp))
    readAtEvent ??= core.api.timestamp
      .read()
      .toArray()
      .then((rows) => rows.length)
  })
  core.api.timestamp.watch({ gte: '2', lt: '3' }).on('change', (entries) => {
    ranged.push(entries.map((e) => e.value.timestamp))
  })
  const feed = await core.writer('default')
  await feed.append([{ timestamp: '2b' }, { timestamp: '1' }])
  await core.ready()
  assert.equal(await readAtEvent, 2, 'the event comes after its batch is committed')
  await feed.append([{ id: 'none' }, { id: 'none either' }])
  await core.ready()
  await feed.append([{ timestamp: '2a' }, { timestamp: '4' }])
  await core.ready()
  assert.deepEqual(all, [
    ['1', '2b'],
    ['2a', '4'],
  ])
  assert.deepEqual(ranged, [['2b'], ['2a']])
  watch.close()
  await feed.append({ timestamp: '5' })
  await core.ready()
  assert.equal(all.length, 2)
})

test('the list survives a restart on disk and is not indexed twice', async (t) => {
  const dir = await tempDir(t)
  const open = async () => {
    const db = new ClassicLevel(`${dir}/view`)
    const core = (await openCore<Doc>(t, { dir: `${dir}/logs` })).use('timestamp', listView(db, byTimestamp))
    return { core, db }
  }
  const first = await open()
  await (await first.core.writer('default')).append([{ timestamp: 'b' }, { timestamp: 'a' }])
  assert.deepEqual(values(await first.core.api.timestamp.read().toArray()), [
    { timestamp: 'a' },
    { timestamp: 'b' },
  ])
  await first.core.close()
  await first.db.close()
  const second = await open()
  t.after(() => second.db.close())
  await (await second.core.writer('default')).append({ timestamp: 'c' })
  assert.deepEqual(values(await second.core.api.timestamp.read().toArray()), [
    { timestamp: 'a' },
    { timestamp: 'b' },
    { timestamp: 'c' },
  ])
})
